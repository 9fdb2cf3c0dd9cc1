import math

import pytest
import torch
from torch import nn

from seqlab.nn import (
    AdditiveScore,
    Attention,
    ContentScore,
    DotScore,
    GeneralScore,
    LocationScore,
    MultiHeadAttention,
    ScaledDotScore,
    causal_mask,
    scaled_dot_product_attention,
)
from tests.reference.torch_copy import copy_mha

B, TQ, TK, D, H = 3, 5, 7, 16, 4


def _random_pad_mask() -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([TK, 4, 2])
    keep = torch.arange(TK)[None, :] < lengths[:, None]  # (B, TK) True = real token
    return keep, keep[:, None, None, :]


@pytest.mark.parametrize("need_weights", [False, True])
def test_mha_matches_torch_with_padding(need_weights):
    ref = nn.MultiheadAttention(D, H, batch_first=True).eval()
    ours = MultiHeadAttention(D, H).eval()
    copy_mha(ours, ref)
    q, kv = torch.randn(B, TQ, D), torch.randn(B, TK, D)
    keep, mask = _random_pad_mask()
    expected, ref_weights = ref(q, kv, kv, key_padding_mask=~keep, average_attn_weights=False)
    out, weights = ours(q, kv, mask=mask, need_weights=need_weights)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    if need_weights:
        torch.testing.assert_close(weights, ref_weights, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("need_weights", [False, True])
def test_mha_self_attention_matches_torch_with_causal_and_padding(need_weights):
    ref = nn.MultiheadAttention(D, H, batch_first=True).eval()
    ours = MultiHeadAttention(D, H).eval()
    copy_mha(ours, ref)
    x = torch.randn(B, TK, D)
    keep, pad = _random_pad_mask()
    causal = causal_mask(TK)
    expected, _ = ref(x, x, x, key_padding_mask=~keep, attn_mask=~causal)
    out, _ = ours(x, mask=pad & causal, need_weights=need_weights)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    # is_causal without an explicit mask: same numbers as the explicit causal mask
    expected_causal, _ = ref(x, x, x, attn_mask=~causal)
    torch.testing.assert_close(ours(x, is_causal=True, need_weights=need_weights)[0], expected_causal,
                               atol=1e-5, rtol=1e-5)


def test_fast_and_eager_paths_agree():
    q, k, v = (torch.randn(B, H, TQ, D // H) for _ in range(3))
    k, v = torch.randn(B, H, TK, D // H), torch.randn(B, H, TK, D // H)
    _, mask = _random_pad_mask()
    fast, none = scaled_dot_product_attention(q, k, v, mask)
    eager, weights = scaled_dot_product_attention(q, k, v, mask, need_weights=True)
    assert none is None
    torch.testing.assert_close(fast, eager, atol=1e-6, rtol=1e-5)
    assert torch.all(weights[1, :, :, 4:] == 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, H, TQ))


def test_cross_attention_is_the_per_head_formula():
    """Concat_h softmax(x W_q^h (M W_k^h)^T / sqrt(Dh) + mask) M W_v^h, then W_o: source longer than the queries,
    with the memory given directly or as keys/values projected once."""
    ours = MultiHeadAttention(D, H).eval()
    x, memory = torch.randn(B, TQ, D), torch.randn(B, TK, D)
    keep, mask = _random_pad_mask()
    (w_q, w_k, w_v), (b_q, b_k, b_v) = ours.in_proj.weight.chunk(3), ours.in_proj.bias.chunk(3)
    dh = D // H
    heads = []
    for h in range(H):
        rows = slice(h * dh, (h + 1) * dh)
        q = x @ w_q[rows].T + b_q[rows]  # (B, TQ, Dh)
        k, v = memory @ w_k[rows].T + b_k[rows], memory @ w_v[rows].T + b_v[rows]  # (B, TK, Dh)
        scores = (q @ k.transpose(1, 2) / math.sqrt(dh)).masked_fill(~keep[:, None, :], float("-inf"))
        heads.append(torch.softmax(scores, -1) @ v)
    expected = ours.out_proj(torch.cat(heads, -1)).detach()
    for need_weights in (False, True):
        direct, _ = ours(x, memory, mask=mask, need_weights=need_weights)
        reused, _ = ours(x, source_kv=ours.project_kv(memory), mask=mask, need_weights=need_weights)
        torch.testing.assert_close(direct.detach(), expected, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(reused.detach(), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("use_mask", [False, True])
@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("t_q", [TK, 3, 1])
def test_additive_bias_on_both_paths_is_the_hand_written_softmax(use_mask, is_causal, t_q):
    """softmax(Q K^T / sqrt(d) + bias) V where the bool mask and the (bottom-right) causal rule allow."""
    q, k, v = torch.randn(B, H, t_q, D // H), torch.randn(B, H, TK, D // H), torch.randn(B, H, TK, D // H)
    bias = torch.randn(1, H, t_q, TK)  # one per head and query/key pair, shared across the batch
    keep, pad = _random_pad_mask()
    mask = pad if use_mask else None
    allowed = torch.ones(B, 1, t_q, TK, dtype=torch.bool)
    if use_mask:
        allowed = allowed & keep[:, None, None, :]
    if is_causal:
        allowed = allowed & (torch.arange(TK)[None, :] <= torch.arange(t_q)[:, None] + TK - t_q)
    scores = q @ k.transpose(-2, -1) / math.sqrt(D // H) + bias
    expected_weights = torch.softmax(scores.masked_fill(~allowed, float("-inf")), -1)
    fast, _ = scaled_dot_product_attention(q, k, v, mask, bias=bias, is_causal=is_causal)
    eager, weights = scaled_dot_product_attention(q, k, v, mask, bias=bias, is_causal=is_causal, need_weights=True)
    torch.testing.assert_close(weights, expected_weights, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(eager, expected_weights @ v, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(fast, expected_weights @ v, atol=1e-6, rtol=1e-5)


def _loop_scores(fn, s: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """score(s_i, h_j) for every pair, one pair at a time: the lecture definition."""
    return torch.stack([torch.stack([fn(s[i], h[j]) for j in range(h.size(0))]) for i in range(s.size(0))])


def test_dot_scaled_general_scores_match_their_formulas():
    s, h = torch.randn(1, TQ, D), torch.randn(1, TK, D)
    torch.testing.assert_close(DotScore()(s, h)[0], _loop_scores(torch.dot, s[0], h[0]))
    torch.testing.assert_close(ScaledDotScore()(s, h)[0],
                               _loop_scores(lambda a, b: a @ b / math.sqrt(D), s[0], h[0]))
    general = GeneralScore(D, D)
    W = general.W.weight.detach()
    torch.testing.assert_close(general(s, h)[0].detach(), _loop_scores(lambda a, b: a @ W @ b, s[0], h[0]))


def test_additive_score_is_v_tanh_W_concat():
    dq, dk, da = 6, 8, 5
    score = AdditiveScore(dq, dk, da)
    s, h = torch.randn(1, TQ, dq), torch.randn(1, TK, dk)
    W = torch.cat([score.W_s.weight, score.W_h.weight], dim=1).detach()  # (da, dq + dk): W [s; h]
    b, v = score.W_h.bias.detach(), score.v.weight.detach()[0]
    expected = _loop_scores(lambda a, c: v @ torch.tanh(W @ torch.cat([a, c]) + b), s[0], h[0])
    torch.testing.assert_close(score(s, h)[0].detach(), expected)


def test_location_score_depends_on_query_only():
    score = LocationScore(D, max_len=10)
    s = torch.randn(2, TQ, D)
    a, b = score(s, torch.randn(2, TK, D)), score(s, torch.randn(2, TK, D))
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, score.W(s)[..., :TK])
    with pytest.raises(ValueError, match="10 positions"):
        score(s, torch.randn(2, 11, D))


def test_content_score_is_cosine():
    s, h = torch.randn(1, TQ, D), torch.randn(1, TK, D)
    expected = _loop_scores(lambda a, b: torch.cosine_similarity(a, b, dim=0), s[0], h[0])
    torch.testing.assert_close(ContentScore()(s, h)[0], expected, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("score", [DotScore(), ScaledDotScore(), GeneralScore(D, D), AdditiveScore(D, D, 8),
                                   LocationScore(D, TK), ContentScore(beta=3.0)])
def test_attention_weights_are_a_masked_distribution(score):
    attend = Attention(score)
    s, h = torch.randn(B, TQ, D), torch.randn(B, TK, D)
    _, mask = _random_pad_mask()
    context, weights = attend(s, h, mask=mask)
    assert context.shape == (B, TQ, D) and weights.shape == (B, TQ, TK)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, TQ))
    assert torch.all(weights[2, :, 2:] == 0)
    torch.testing.assert_close(context, weights @ h)


def test_causal_with_fewer_queries_than_keys_is_bottom_right_on_both_paths():
    """Queries are the last Tq positions (a decoder prefix): SDPA's is_causal alone would align top-left."""
    q, k, v = torch.randn(1, 2, 3, 4), torch.randn(1, 2, 5, 4), torch.randn(1, 2, 5, 4)
    fast, _ = scaled_dot_product_attention(q, k, v, is_causal=True)
    eager, weights = scaled_dot_product_attention(q, k, v, is_causal=True, need_weights=True)
    torch.testing.assert_close(fast, eager, atol=1e-6, rtol=1e-5)
    assert torch.all(weights[..., 0, 3:] == 0) and torch.all(weights[..., 2, :] > 0)
