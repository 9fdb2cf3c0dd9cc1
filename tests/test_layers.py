import pytest
import torch
from torch import nn

from seqlab.nn import DecoderLayer, EncoderLayer, causal_mask
from tests.reference.torch_copy import copy_decoder_layer, copy_encoder_layer

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
    out = ours(x, keep[:, None, None, :])
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
