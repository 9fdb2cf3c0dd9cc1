"""Attention: the score functions of the lectures, one attention function, multi-head attention.

Notation (lectures): s is the query (a decoder state), h_j the keys (encoder states),
a_j = softmax_j(score(s, h_j)) the weights, c = sum_j a_j v_j the context.

Shapes:
    B batch, H heads, Tq query length, Tk key length, D model width, Dh = D / H.

Masks follow seqlab.nn.masks: bool, True = may attend, broadcastable to (B, H, Tq, Tk), and so
does the causal rule. Multi-head attention also takes an additive float ``bias`` of that shape
(relative positions, ALiBi). Single-head attention drops the head axis of a 4-d mask.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.nn.cache import KVCache
from seqlab.nn.masks import resolve_causal
from seqlab.nn.packing import Packing

# An additive score that depends on the projected queries (B, H, Tq, Dh) and keys (B, H, Tk, Dh): (B, H, Tq, Tk)
ScoreBias = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# ---------------------------------------------------------------------------------------------
# Score functions: score(s, h) for every query/key pair, (B, Tq, Dq) x (B, Tk, Dk) -> (B, Tq, Tk)
# ---------------------------------------------------------------------------------------------


class DotScore(nn.Module):
    """score(s, h) = s^T h  (Luong "dot")."""

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        return query @ keys.transpose(-2, -1)


class ScaledDotScore(nn.Module):
    """score(s, h) = s^T h / sqrt(n): keeps the softmax out of saturation as n grows (Vaswani)."""

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        return query @ keys.transpose(-2, -1) / math.sqrt(query.size(-1))


class GeneralScore(nn.Module):
    """score(s, h) = s^T W h  (Luong "general", a bilinear form)."""

    def __init__(self, query_dim: int, key_dim: int):
        super().__init__()
        self.W = nn.Linear(key_dim, query_dim, bias=False)

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        return query @ self.W(keys).transpose(-2, -1)


class AdditiveScore(nn.Module):
    """score(s, h) = v^T tanh(W [s; h])  (Bahdanau). W [s; h] is computed as W_s s + W_h h."""

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int):
        super().__init__()
        self.W_s = nn.Linear(query_dim, hidden_dim, bias=False)
        self.W_h = nn.Linear(key_dim, hidden_dim, bias=True)
        self.v = nn.Linear(hidden_dim, 1, bias=False)

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        s = self.W_s(query)[:, :, None, :]  # (B, Tq, 1, Da)
        h = self.W_h(keys)[:, None, :, :]  # (B, 1, Tk, Da)
        return self.v(torch.tanh(s + h)).squeeze(-1)  # (B, Tq, Tk)


class LocationScore(nn.Module):
    """a = softmax(W s): the weights depend on the query only, one logit per source position (Luong)."""

    def __init__(self, query_dim: int, max_len: int):
        super().__init__()
        self.W = nn.Linear(query_dim, max_len)

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        t_k = keys.size(1)
        if t_k > self.W.out_features:
            raise ValueError(f"location attention was built for {self.W.out_features} positions, got {t_k}")
        return self.W(query)[..., :t_k]  # (B, Tq, Tk)


class ContentScore(nn.Module):
    """score(s, h) = beta * cos(s, h)  (content-based addressing, Graves et al. NTM)."""

    def __init__(self, beta: float = 1.0, eps: float = 1e-8):
        super().__init__()
        self.beta = beta
        self.eps = eps

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        q = query / query.norm(dim=-1, keepdim=True).clamp_min(self.eps)
        k = keys / keys.norm(dim=-1, keepdim=True).clamp_min(self.eps)
        return self.beta * (q @ k.transpose(-2, -1))


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """softmax over the last axis, giving weight 0 where mask is False."""
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores.float(), dim=-1).to(scores.dtype)


class Attention(nn.Module):
    """Single-head attention around any score: c = sum_j softmax_j(score(s, h_j)) v_j."""

    def __init__(self, score: nn.Module):
        super().__init__()
        self.score = score

    def forward(
        self,
        query: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, Tq, Dq), (B, Tk, Dk), (B, Tk, Dv) -> context (B, Tq, Dv), weights (B, Tq, Tk)."""
        values = keys if values is None else values
        if mask is not None and mask.dim() == 4:
            mask = mask[:, 0]  # (B, 1|Tq, Tk): single head
        weights = masked_softmax(self.score(query, keys), mask)  # (B, Tq, Tk)
        return weights @ values, weights


# ---------------------------------------------------------------------------------------------
# Scaled dot-product attention and multi-head attention
# ---------------------------------------------------------------------------------------------


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    bias: torch.Tensor | None = None,
    is_causal: bool = False,
    dropout_p: float = 0.0,
    need_weights: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """softmax(Q K^T / sqrt(d_k) + bias) V on (B, H, T, Dh) tensors, where the mask allows.

    ``mask`` is bool (True = may attend), ``bias`` an additive float (relative positions, ALiBi),
    both broadcastable to (B, H, Tq, Tk); ``is_causal`` applies the causal rule of seqlab.nn.masks.
    The fast path calls ``F.scaled_dot_product_attention`` (fused kernels). The eager path
    writes the equation out and also returns the weights (B, H, Tq, Tk), for plots.
    """
    mask, is_causal = resolve_causal(mask, is_causal=is_causal, q_len=q.size(-2), k_len=k.size(-2),
                                     device=q.device, explicit=need_weights or bias is not None)
    if not need_weights:
        if bias is not None:  # SDPA takes one attn_mask: the bias, with -inf where the mask forbids
            bias = bias.to(q.dtype)
            mask = bias if mask is None else torch.where(mask, bias, float("-inf"))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=is_causal)
        return out, None
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (B, H, Tq, Tk)
    if bias is not None:
        scores = scores + bias
    weights = masked_softmax(scores, mask)
    out = F.dropout(weights, dropout_p) @ v  # (B, H, Tq, Dh)
    return out, weights


class MultiHeadAttention(nn.Module):
    """MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O, head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V).

    The h projections of width Dh are computed as one (D, D) matrix each for Q, K and V,
    stored fused as ``in_proj`` (3D, D) so self-attention needs one matmul.

    Self-attention: ``forward(x)``. Cross-attention: ``forward(x, source)``, or pass
    ``source_kv=attn.project_kv(source)`` to reuse keys/values computed once. With a
    ``kv_cache`` the new keys/values are written at ``input_pos`` and attention runs over
    the cached prefix (incremental decoding); ``is_causal`` then needs no positions, see
    seqlab.nn.masks. ``bias`` (B|1, H|1, T, Tk) is added to the scores (relative positions); it may also be a
    function of the projected queries and keys, ``bias(q, k)``, for scores that depend on them (Transformer-XL's
    u . k_j and (q_i + v) . W_R R_{i-j}, seqlab.nn.relative).
    With a ``packing`` (seqlab.nn.packing), self-attention takes and returns the real tokens only,
    (N, D): the projections skip the padding, the scores are computed padded.
    """

    def __init__(self, d_model: int, n_heads: int, *, dropout: float = 0.0, bias: bool = True,
                 head_dim: int | None = None):
        super().__init__()
        if head_dim is None and d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.d_model, self.n_heads = d_model, n_heads
        # Dh = D / H in the paper; Keras' MultiHeadAttention(key_dim=...) lets H x Dh differ from D
        self.head_dim = d_model // n_heads if head_dim is None else head_dim
        self.inner_dim = n_heads * self.head_dim
        self.dropout = dropout
        self.in_proj = nn.Linear(d_model, 3 * self.inner_dim, bias=bias)  # [W^Q; W^K; W^V]
        self.out_proj = nn.Linear(self.inner_dim, d_model, bias=bias)  # W^O

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, Dh)

    def project_kv(self, source: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values of a source (B, S, D) -> two (B, H, S, Dh)."""
        w_kv = self.in_proj.weight[self.inner_dim :]
        b_kv = None if self.in_proj.bias is None else self.in_proj.bias[self.inner_dim :]
        k, v = F.linear(source, w_kv, b_kv).chunk(2, dim=-1)
        return self._split_heads(k), self._split_heads(v)

    def forward(
        self,
        x: torch.Tensor,
        source: torch.Tensor | None = None,
        *,
        mask: torch.Tensor | None = None,
        bias: torch.Tensor | ScoreBias | None = None,
        is_causal: bool = False,
        source_kv: tuple[torch.Tensor, torch.Tensor] | None = None,
        kv_cache: KVCache | None = None,
        input_pos: torch.Tensor | None = None,
        need_weights: bool = False,
        packing: Packing | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, D), or (N, D) with a ``packing`` -> output of x's shape, weights (B, H, T, Tk) or None."""
        d = self.inner_dim
        if packing is not None and (source is not None or source_kv is not None or kv_cache is not None):
            raise ValueError("packed input is for self-attention without a cache")
        if source is None and source_kv is None:
            qkv = self.in_proj(x)  # (B, T, 3D), or (N, 3D) packed
            qkv = qkv if packing is None else packing.unpack(qkv)  # (B, T, 3D), zeros at the padding
            q, k, v = (self._split_heads(part) for part in qkv.split(d, dim=-1))
        else:
            b_q = None if self.in_proj.bias is None else self.in_proj.bias[:d]
            q = self._split_heads(F.linear(x, self.in_proj.weight[:d], b_q))
            k, v = source_kv if source_kv is not None else self.project_kv(source)
        if kv_cache is not None:
            if input_pos is None:
                raise ValueError("a kv_cache needs input_pos, the positions of x")
            k, v = kv_cache.update(input_pos, k, v)  # (B, H, Tk, Dh), Tk = input_pos[-1] + 1
        if callable(bias):
            bias = bias(q, k)  # (B, H, T, Tk)
        dropout_p = self.dropout if self.training else 0.0
        out, weights = scaled_dot_product_attention(
            q, k, v, mask, bias=bias, is_causal=is_causal, dropout_p=dropout_p, need_weights=need_weights
        )
        b, _, t, _ = out.shape
        out = out.transpose(1, 2).reshape(b, t, d)  # concat heads: (B, T, D)
        return self.out_proj(out if packing is None else packing.pack(out)), weights
