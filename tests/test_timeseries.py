"""The time-series models: the Keras FordA example layer for layer, the Transformer for series, the CNNs and LSTMs,
and the blocks they added to seqlab.nn (attention heads of any size, the norm on the residual branch)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seqlab.models.timeseries import (
    CNNLSTM,
    CNNLSTMConfig,
    KerasSeriesConfig,
    KerasSeriesTransformer,
    ResNet1D,
    ResNet1DConfig,
    SeriesLSTM,
    SeriesLSTMConfig,
    SeriesTransformer,
    SeriesTransformerConfig,
    auto_patch,
)
from seqlab.nn.attention import MultiHeadAttention
from seqlab.nn.layers import Residual


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_keras_model_has_the_examples_93130_parameters_on_forda():
    # keras-io's model.summary() on FordA (500 steps, 1 feature, 2 classes): Total params: 93,130
    assert _params(KerasSeriesTransformer(KerasSeriesConfig(length=500, n_classes=2))) == 93_130
    # without the attention: 4 blocks of (conv 1->4, conv 4->1, 2 layer norms) + the MLP 500->128->2
    blocks = 4 * ((1 * 4 + 4) + (4 * 1 + 1) + 2)
    assert _params(KerasSeriesTransformer(KerasSeriesConfig(length=500, n_classes=2, attention=False))) == \
        blocks + 500 * 128 + 128 + 128 * 2 + 2


def test_attention_with_heads_wider_than_the_model_is_the_equation():
    torch.manual_seed(0)
    d, h, dh, t = 3, 2, 5, 7
    mha = MultiHeadAttention(d, h, head_dim=dh).eval()
    x = torch.randn(2, t, d)
    out, weights = mha(x, need_weights=True)
    wq, wk, wv = mha.in_proj.weight.split(h * dh)
    bq, bk, bv = mha.in_proj.bias.split(h * dh)
    heads = []
    for i in range(h):
        rows = slice(i * dh, (i + 1) * dh)
        q, k, v = x @ wq[rows].T + bq[rows], x @ wk[rows].T + bk[rows], x @ wv[rows].T + bv[rows]
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(dh), -1)
        torch.testing.assert_close(weights[:, i], a)
        heads.append(a @ v)
    torch.testing.assert_close(out, torch.cat(heads, -1) @ mha.out_proj.weight.T + mha.out_proj.bias)
    assert out.shape == (2, t, d) and mha.in_proj.weight.shape == (3 * h * dh, d)


def test_default_attention_width_is_unchanged():
    mha = MultiHeadAttention(8, 2)
    assert (mha.head_dim, mha.inner_dim, mha.in_proj.weight.shape) == (4, 8, (24, 8))
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(7, 2)


def test_branch_norm_residual_is_x_plus_norm_of_the_branch():
    norm = nn.LayerNorm(4)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-0.5, 0.5)
    block = Residual(norm, dropout=0.0, norm_first=False, branch_norm=True)
    x = torch.randn(2, 3, 4)
    torch.testing.assert_close(block(x, torch.tanh), x + norm(torch.tanh(x)))
    with pytest.raises(ValueError, match="norm_first"):
        Residual(norm, dropout=0.0, norm_first=True, branch_norm=True)


@pytest.mark.parametrize("norm", ["pre", "branch"])
def test_keras_block_is_the_examples_transformer_encoder(norm):
    """pre: x + MHA(LN(x)), then x + FF(LN(x)); branch: x + LN(MHA(x)), then x + LN(FF(x)); eval mode (no dropout),
    FF = Conv1D_1x1(ReLU(Conv1D_1x1(.)))."""
    torch.manual_seed(1)
    cfg = KerasSeriesConfig(length=9, n_classes=3, head_size=4, heads=2, ff_dim=3, blocks=1, mlp_units=[5], norm=norm)
    model = KerasSeriesTransformer(cfg).eval()
    block = model.blocks[0]
    with torch.no_grad():  # LayerNorm's gain and bias away from (1, 0), so a wrong order shows
        for norm_layer in (block.attn_block.norm, block.ff_block.norm):
            norm_layer.weight.fill_(1.7)
            norm_layer.bias.fill_(-0.3)

    def ln(h, layer):
        return F.layer_norm(h, (1,), layer.weight, layer.bias, eps=1e-6)

    def ff(h):
        return block.feed_forward.w_2(F.relu(block.feed_forward.w_1(h)))

    x = torch.randn(2, 9, 1)
    if norm == "pre":
        res = x + block.attn(ln(x, block.attn_block.norm))[0]
        out = res + ff(ln(res, block.ff_block.norm))
    else:
        res = x + ln(block.attn(x)[0], block.attn_block.norm)
        out = res + ln(ff(res), block.ff_block.norm)
    torch.testing.assert_close(block(x)[0], out)
    # channels-first global average pooling: the mean over the one feature, i.e. the sequence itself, into the MLP
    mlp = model.mlp[0]
    expected = model.head(F.relu(out.mean(-1) @ mlp.weight.T + mlp.bias))
    torch.testing.assert_close(model(x), expected)


def test_the_edited_example_pools_over_time_into_29258_parameters():
    cfg = KerasSeriesConfig(length=500, n_classes=2, norm="branch", pool="time")
    model = KerasSeriesTransformer(cfg)
    assert _params(model) == 4 * 7186 + (1 * 128 + 128) + 128 * 2 + 2 == 29_258
    assert model(torch.randn(3, 500, 1)).shape == (3, 2)


def test_keras_model_refuses_another_length_and_returns_attention():
    model = KerasSeriesTransformer(KerasSeriesConfig(length=12, n_classes=2, head_size=4, blocks=2)).eval()
    logits, weights = model(torch.randn(3, 12, 1), need_weights=True)
    assert logits.shape == (3, 2) and len(weights) == 2 and weights[0].shape == (3, 4, 12, 12)
    torch.testing.assert_close(weights[0].sum(-1), torch.ones(3, 4, 12))
    with pytest.raises(ValueError, match="exactly 12 steps"):
        model(torch.randn(3, 13, 1))


def test_keras_initialisation_is_glorot_uniform_with_zero_biases():
    model = KerasSeriesTransformer(KerasSeriesConfig(length=500, n_classes=2))
    def fills(weight: torch.Tensor, bound: float) -> bool:  # uniform on (-bound, bound): its extremes near bound
        return 0.95 * bound <= weight.abs().max() <= bound

    dense = model.mlp[0]
    assert fills(dense.weight, math.sqrt(6 / (500 + 128))) and not dense.bias.any()
    attn = model.blocks[0].attn
    assert fills(attn.in_proj.weight[:1024], math.sqrt(6 / (4 + 256)))  # Keras' fans, (1, 4, 256) query kernel
    assert fills(attn.out_proj.weight, math.sqrt(6 / (1024 + 4)))  # the (4, 256, 1) output kernel


@pytest.mark.parametrize("length", [24, 150, 1460, 5])
def test_auto_patch(length):
    patch, stride = auto_patch(length)
    assert 2 <= patch <= 16 and stride == max(1, patch // 2)


def _series_models() -> dict:
    return {
        "transformer": SeriesTransformer(SeriesTransformerConfig(n_classes=3, patch=4, stride=2, d_model=16,
                                                                 n_heads=2, d_ff=32, n_layers=2, max_len=64)),
        "resnet": ResNet1D(ResNet1DConfig(n_classes=3, filters=[8, 16], kernels=[5, 3])),
        "cnn_lstm": CNNLSTM(CNNLSTMConfig(n_classes=3, filters=[8, 8], kernel=3, hidden=6)),
        "lstm": SeriesLSTM(SeriesLSTMConfig(outputs=3, hidden=6)),
    }


@pytest.mark.parametrize("name", ["transformer", "resnet", "cnn_lstm", "lstm"])
def test_padding_changes_nothing(name):
    """A series padded (and masked) to a longer batch gets the logits it gets alone."""
    torch.manual_seed(2)
    model = _series_models()[name].eval()
    short, long = torch.randn(1, 21, 1), torch.randn(1, 33, 1)
    alone = model(short, torch.ones(1, 21, dtype=torch.bool))
    batch = torch.zeros(2, 33, 1)
    batch[0, :21], batch[1] = short[0], long[0]
    mask = torch.zeros(2, 33, dtype=torch.bool)
    mask[0, :21], mask[1] = True, True
    torch.testing.assert_close(model(batch, mask)[:1], alone, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", ["transformer", "resnet", "cnn_lstm", "lstm"])
def test_series_models_learn_a_toy_problem(name):
    """Three classes told apart by where a bump is: each model fits 24 series in a few steps."""
    torch.manual_seed(3)
    model = _series_models()[name]
    x = torch.randn(24, 32, 1) * 0.1
    label = torch.arange(24) % 3
    for i, c in enumerate(label.tolist()):
        x[i, 4 + 10 * c: 8 + 10 * c, 0] += 2.0
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = model.loss(x, label=label).item()
    for _ in range(60):
        optimizer.zero_grad()
        model.loss(x, label=label).backward()
        optimizer.step()
    assert model.loss(x, label=label).item() < 0.5 * first


def test_series_transformer_shorter_than_a_patch_and_longer_than_max_len():
    model = SeriesTransformer(SeriesTransformerConfig(n_classes=2, patch=8, stride=4, d_model=8, n_heads=2,
                                                      d_ff=8, n_layers=1, max_len=16)).eval()
    assert model(torch.randn(2, 5, 1)).shape == (2, 2)
    with pytest.raises(ValueError, match="max_len=16"):
        model(torch.randn(1, 17, 1))
    _, weights = model(torch.randn(2, 16, 1), need_weights=True)
    assert weights[0].shape == (2, 2, 5, 5)  # [CLS] + patches starting at steps 0, 4, 8, 12


def test_deck_lstm32_on_50_by_2_windows_then_dense2():
    model = SeriesLSTM(SeriesLSTMConfig(features=2, hidden=32, outputs=2))
    assert model(torch.randn(5, 50, 2)).shape == (5, 2)
    assert model.loss(torch.randn(5, 50, 2), target=torch.randn(5, 2)).ndim == 0
    with pytest.raises(ValueError, match="exactly one of label"):
        model.loss(torch.randn(5, 50, 2))


def test_configs_refuse_bad_values():
    with pytest.raises(ValueError, match="pool"):
        SeriesTransformerConfig(pool="max")
    with pytest.raises(ValueError, match="dropout"):
        KerasSeriesConfig(dropout=1.0)
    with pytest.raises(ValueError, match="length"):
        KerasSeriesTransformer(KerasSeriesConfig(n_classes=2))


@pytest.mark.parametrize("norm", ["pre", "branch"])
def test_the_keras_blocks_add_a_constant_whatever_the_series(norm):
    """The lab's finding: Keras' LayerNormalization normalises over the feature axis, here of size 1, so it returns its
    bias whatever its input. Each block adds the same constant to every series and step; the model is its MLP on the
    raw series, shifted. Before the attention (pre) it makes every token the same, so the weights are uniform and the
    queries and keys get no gradient; after the branches (branch) no gradient reaches the attention or the
    feed-forward at all."""
    torch.manual_seed(4)
    model = KerasSeriesTransformer(KerasSeriesConfig(length=50, n_classes=2, norm=norm))
    x, label = torch.randn(8, 50, 1), torch.randint(0, 2, (8,))
    model.loss(x, label=label).backward()
    for block in model.blocks:
        q_and_k = block.attn.in_proj.weight.grad[: 2 * 1024]
        assert not q_and_k.any()
        if norm == "branch":
            assert all(not p.grad.any() for part in (block.attn, block.feed_forward) for p in part.parameters())
    assert model.mlp[0].weight.grad.any()
    model.eval()
    other = torch.randn(8, 50, 1) * 3
    for block in model.blocks:
        out, weights = block(x, need_weights=True)
        torch.testing.assert_close(weights, torch.full_like(weights, 1 / 50)) if norm == "pre" else None
        shift = out - x
        torch.testing.assert_close(block(other)[0] - other, shift)
        torch.testing.assert_close(shift, shift[:1, :1].expand_as(shift))
        x = out
