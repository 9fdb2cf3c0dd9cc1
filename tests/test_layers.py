import math

import pytest
import torch
from torch import nn

from seqlab.nn import (
    ACTIVATIONS,
    DecoderLayer,
    EncoderLayer,
    FeedForward,
    KVCache,
    MultiHeadAttention,
    Packing,
    SelfAttentionLayer,
    causal_mask,
)
from tests.reference.torch_copy import copy_decoder_layer, copy_encoder_layer, copy_mha

B, S, T, D, H, F = 3, 7, 5, 16, 4, 32


def _keep(lengths, max_len):
    return torch.arange(max_len)[None, :] < torch.tensor(lengths)[:, None]  # (B, L) True = real


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_matches_torch(norm_first, activation):
    ref = nn.TransformerEncoderLayer(D, H, F, dropout=0.0, activation=activation, batch_first=True,
                                     norm_first=norm_first)
    ours = EncoderLayer(D, H, F, dropout=0.0, activation=activation, norm_first=norm_first)
    copy_encoder_layer(ours, ref)
    x = torch.randn(B, S, D)
    keep = _keep([S, 4, 2], S)
    expected = ref(x, src_key_padding_mask=~keep)  # grad enabled: torch's slow (reference) path
    out, _ = ours(x, keep[:, None, None, :])
    torch.testing.assert_close(out[keep], expected[keep], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(norm_first):
    ref = nn.TransformerDecoderLayer(D, H, F, dropout=0.0, batch_first=True, norm_first=norm_first)
    ours = DecoderLayer(D, H, F, dropout=0.0, norm_first=norm_first)
    copy_decoder_layer(ours, ref)
    x, memory = torch.randn(B, T, D), torch.randn(B, S, D)
    keep = _keep([S, 3, 6], S)
    expected = ref(x, memory, tgt_mask=~causal_mask(T), memory_key_padding_mask=~keep)
    out, weights = ours(x, memory, memory_mask=keep[:, None, None, :], need_weights=True)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    assert weights.shape == (B, H, T, S) and torch.all(weights[1, :, :, 3:] == 0)


def test_decoder_layer_default_is_causal():
    layer = DecoderLayer(D, H, F, dropout=0.0).eval()
    x, memory = torch.randn(1, T, D), torch.randn(1, S, D)
    full, _ = layer(x, memory)
    changed = x.clone()
    changed[:, -1] += 1.0  # the last position must not influence earlier ones
    out, _ = layer(changed, memory)
    torch.testing.assert_close(out[:, :-1], full[:, :-1])
    assert not torch.allclose(out[:, -1], full[:, -1])


def test_decoder_layer_self_mask_narrows_the_causal_mask():
    """self_mask (target padding) is and-ed with causality, not a replacement for it."""
    ref = nn.TransformerDecoderLayer(D, H, F, dropout=0.0, batch_first=True)
    ours = DecoderLayer(D, H, F, dropout=0.0)
    copy_decoder_layer(ours, ref)
    x, memory = torch.randn(B, T, D), torch.randn(B, S, D)
    keep_tgt = _keep([T, 4, 3], T)
    expected = ref(x, memory, tgt_mask=~causal_mask(T), tgt_key_padding_mask=~keep_tgt)
    out, _ = ours(x, memory, self_mask=keep_tgt[:, None, None, :])
    torch.testing.assert_close(out[keep_tgt], expected[keep_tgt], atol=1e-5, rtol=1e-5)


def test_old_flat_decoder_state_dict_loads():
    """Checkpoints written before DecoderLayer was composed of two layers name its parts flat."""
    ref = nn.TransformerDecoderLayer(D, H, F, dropout=0.0, batch_first=True)
    old = {}
    for name, mha in [("self_attn", ref.self_attn), ("cross_attn", ref.multihead_attn)]:
        old |= {f"{name}.in_proj.weight": mha.in_proj_weight, f"{name}.in_proj.bias": mha.in_proj_bias,
                f"{name}.out_proj.weight": mha.out_proj.weight, f"{name}.out_proj.bias": mha.out_proj.bias}
    old |= {"feed_forward.w_1.weight": ref.linear1.weight, "feed_forward.w_1.bias": ref.linear1.bias,
            "feed_forward.w_2.weight": ref.linear2.weight, "feed_forward.w_2.bias": ref.linear2.bias}
    for block, norm in [("self_block", ref.norm1), ("cross_block", ref.norm2), ("ff_block", ref.norm3)]:
        old |= {f"{block}.norm.weight": norm.weight, f"{block}.norm.bias": norm.bias}
    stack = nn.ModuleList([DecoderLayer(D, H, F, dropout=0.0)])  # under a prefix, as inside a model
    stack.load_state_dict({f"0.{k}": v.detach().clone() for k, v in old.items()}, strict=True)
    x, memory = torch.randn(B, T, D), torch.randn(B, S, D)
    expected = ref(x, memory, tgt_mask=~causal_mask(T))
    torch.testing.assert_close(stack[0](x, memory)[0], expected, atol=1e-5, rtol=1e-5)


def test_encoder_layer_keeps_its_state_dict_names():
    names = list(EncoderLayer(D, H, F).state_dict())
    assert names == ["self_attn.in_proj.weight", "self_attn.in_proj.bias", "self_attn.out_proj.weight",
                     "self_attn.out_proj.bias", "feed_forward.w_1.weight", "feed_forward.w_1.bias",
                     "feed_forward.w_2.weight", "feed_forward.w_2.bias", "attn_block.norm.weight",
                     "attn_block.norm.bias", "ff_block.norm.weight", "ff_block.norm.bias"]


def _parts(**mlp_args):
    return dict(attn=MultiHeadAttention(D, H), mlp=FeedForward(D, F, **mlp_args), attn_norm=nn.LayerNorm(D),
                mlp_norm=nn.LayerNorm(D))


def test_pre_norm_self_attention_layer_is_the_formula():
    """x + MHA(LN1(x)), then + W2 act(W1 LN2(x)): written out with torch.nn.MultiheadAttention."""
    layer = SelfAttentionLayer(**_parts(activation="gelu_tanh"), norm_first=True, causal=True).eval()
    ref = nn.MultiheadAttention(D, H, batch_first=True).eval()
    copy_mha(layer.self_attn, ref)
    x = torch.randn(B, T, D)
    h = layer.attn_block.norm(x)
    x1 = x + ref(h, h, h, attn_mask=~causal_mask(T))[0]
    ff = layer.feed_forward
    expected = x1 + ff.w_2(nn.functional.gelu(ff.w_1(layer.ff_block.norm(x1)), approximate="tanh"))
    torch.testing.assert_close(layer(x)[0], expected, atol=1e-5, rtol=1e-5)


def test_bias_reaches_the_attention_scores():
    """The Transformer-XL / ALiBi seam: an additive bias of -inf above the diagonal is the causal layer."""
    torch.manual_seed(0)
    parts = _parts()
    causal = SelfAttentionLayer(**parts, norm_first=False, causal=True).eval()
    plain = SelfAttentionLayer(**parts, norm_first=False).eval()
    x = torch.randn(B, T, D)
    bias = torch.zeros(T, T).masked_fill(~causal_mask(T), float("-inf"))
    torch.testing.assert_close(plain(x, bias=bias)[0], causal(x)[0], atol=1e-6, rtol=1e-5)
    assert not torch.allclose(plain(x)[0], causal(x)[0])
    alibi = -torch.arange(T)[None, :].abs().float().expand(H, T, T)  # (H, T, T): one slope, every head
    with_weights = plain(x, bias=alibi, need_weights=True)
    torch.testing.assert_close(plain(x, bias=alibi)[0], with_weights[0], atol=1e-6, rtol=1e-5)
    assert not torch.allclose(plain(x, bias=alibi)[0], plain(x)[0])


def test_cached_decoding_through_a_causal_layer_equals_the_full_pass():
    layer = SelfAttentionLayer(**_parts(), norm_first=True, causal=True).eval()
    x = torch.randn(B, T, D)
    full, _ = layer(x)
    cache = KVCache(B, 16, H, D // H)
    prefill, _ = layer(x[:, :2], kv_cache=cache, input_pos=torch.arange(2))  # two at once, then one by one
    steps = [layer(x[:, t : t + 1], kv_cache=cache, input_pos=torch.tensor([t]))[0] for t in range(2, T)]
    torch.testing.assert_close(torch.cat([prefill, *steps], 1), full, atol=1e-5, rtol=1e-5)


def test_mlp_and_its_norm_come_together():
    with pytest.raises(ValueError, match="together"):
        SelfAttentionLayer(attn=MultiHeadAttention(D, H), mlp=FeedForward(D, F), attn_norm=nn.LayerNorm(D),
                           norm_first=True)


def test_gelu_tanh_is_gpt2s_formula():
    x = torch.linspace(-4, 4, 101)
    expected = 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    torch.testing.assert_close(ACTIVATIONS["gelu_tanh"](x), expected)
    assert (ACTIVATIONS["gelu_tanh"](x) - ACTIVATIONS["gelu"](x)).abs().max() > 1e-4  # not the exact GELU


@pytest.mark.parametrize("norm_first", [False, True])
def test_packed_encoder_layer_equals_torch_on_the_real_tokens(norm_first):
    """With a Packing the layer takes and returns only the real tokens (N, D); they equal torch's padded layer."""
    ref = nn.TransformerEncoderLayer(D, H, F, dropout=0.0, batch_first=True, norm_first=norm_first)
    ours = EncoderLayer(D, H, F, dropout=0.0, norm_first=norm_first)
    copy_encoder_layer(ours, ref)
    x = torch.randn(B, S, D, requires_grad=True)
    keep = _keep([S, 4, 2], S)
    packing = Packing.from_mask(keep)
    out, _ = ours(packing.pack(x), keep[:, None, None, :], packing=packing)  # (N, D)
    assert out.shape == (int(keep.sum()), D)
    torch.testing.assert_close(out, ref(x, src_key_padding_mask=~keep)[keep], atol=1e-5, rtol=1e-5)
    out.sum().backward()
    assert x.grad[~keep].abs().max() == 0  # padding took no part
    assert torch.equal(packing.unpack(packing.pack(x))[keep], x[keep])
    assert Packing.from_mask(torch.ones(2, 3)) is None  # nothing to skip: the padded path


def test_packed_input_is_refused_outside_plain_self_attention():
    packing = Packing.from_mask(_keep([3, 2], 3))
    with pytest.raises(ValueError, match="packed input is for self-attention"):
        MultiHeadAttention(D, H)(torch.randn(5, D), torch.randn(2, 3, D), packing=packing)
