"""Transformer building blocks: position-wise feed-forward, residual + LayerNorm, encoder/decoder layers.

Each sub-layer is wrapped as in "Attention is all you need" (post-norm):
    x = LayerNorm(x + Dropout(Sublayer(x)))
or, with ``norm_first=True`` (pre-norm, GPT-2 and most modern models):
    x = x + Dropout(Sublayer(LayerNorm(x)))

Shapes: B batch, T target length, S source length, D model width.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.nn.attention import MultiHeadAttention
from seqlab.nn.cache import KVCache

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"relu": F.relu, "gelu": F.gelu}


class FeedForward(nn.Module):
    """FFN(x) = max(0, x W_1 + b_1) W_2 + b_2, applied to each position independently."""

    def __init__(self, d_model: int, d_ff: int, *, dropout: float = 0.0, activation: str = "relu"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r} (choose from {sorted(ACTIVATIONS)})")
        self.w_1 = nn.Linear(d_model, d_ff)
        self.w_2 = nn.Linear(d_ff, d_model)
        self.activation = ACTIVATIONS[activation]
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w_2(self.dropout(self.activation(self.w_1(x))))


class Residual(nn.Module):
    """Residual connection with LayerNorm after (post-norm) or before (pre-norm) the sub-layer."""

    def __init__(self, d_model: int, *, dropout: float, norm_first: bool, eps: float = 1e-5):
        super().__init__()
        self.norm = nn.LayerNorm(d_model, eps=eps)
        self.dropout = nn.Dropout(dropout)
        self.norm_first = norm_first

    def forward(self, x: torch.Tensor, sublayer: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        if self.norm_first:
            return x + self.dropout(sublayer(self.norm(x)))
        return self.norm(x + self.dropout(sublayer(x)))


class EncoderLayer(nn.Module):
    """Self-attention then feed-forward, each in a residual block."""

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        *,
        dropout: float = 0.1,
        attention_dropout: float | None = None,
        ffn_dropout: float | None = None,
        activation: str = "relu",
        norm_first: bool = False,
        eps: float = 1e-5,
    ):
        super().__init__()
        attention_dropout = dropout if attention_dropout is None else attention_dropout
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout=attention_dropout)
        self.feed_forward = FeedForward(d_model, d_ff, dropout=dropout if ffn_dropout is None else ffn_dropout,
                                        activation=activation)
        self.attn_block = Residual(d_model, dropout=dropout, norm_first=norm_first, eps=eps)
        self.ff_block = Residual(d_model, dropout=dropout, norm_first=norm_first, eps=eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, S, D), mask (B, 1, 1, S) -> (B, S, D)."""
        x = self.attn_block(x, lambda h: self.self_attn(h, mask=mask)[0])
        return self.ff_block(x, self.feed_forward)


class DecoderLayer(nn.Module):
    """Masked self-attention, encoder-decoder (cross) attention, feed-forward."""

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        *,
        dropout: float = 0.1,
        attention_dropout: float | None = None,
        ffn_dropout: float | None = None,
        activation: str = "relu",
        norm_first: bool = False,
        eps: float = 1e-5,
    ):
        super().__init__()
        attention_dropout = dropout if attention_dropout is None else attention_dropout
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout=attention_dropout)
        self.cross_attn = MultiHeadAttention(d_model, n_heads, dropout=attention_dropout)
        self.feed_forward = FeedForward(d_model, d_ff, dropout=dropout if ffn_dropout is None else ffn_dropout,
                                        activation=activation)
        self.self_block = Residual(d_model, dropout=dropout, norm_first=norm_first, eps=eps)
        self.cross_block = Residual(d_model, dropout=dropout, norm_first=norm_first, eps=eps)
        self.ff_block = Residual(d_model, dropout=dropout, norm_first=norm_first, eps=eps)

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor | tuple[torch.Tensor, torch.Tensor],
        *,
        self_mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None,
        kv_cache: KVCache | None = None,
        input_pos: torch.Tensor | None = None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, D); memory (B, S, D) or its precomputed cross keys/values -> (B, T, D), cross weights.

        Without ``self_mask`` and cache the self-attention is causal (training, teacher forcing).
        """
        causal = self_mask is None and kv_cache is None

        def self_attention(h: torch.Tensor) -> torch.Tensor:
            return self.self_attn(
                h, mask=self_mask, is_causal=causal, kv_cache=kv_cache, input_pos=input_pos
            )[0]

        weights = None

        def cross_attention(h: torch.Tensor) -> torch.Tensor:
            nonlocal weights
            if isinstance(memory, tuple):
                out, weights = self.cross_attn(h, source_kv=memory, mask=memory_mask, need_weights=need_weights)
            else:
                out, weights = self.cross_attn(h, memory, mask=memory_mask, need_weights=need_weights)
            return out

        x = self.self_block(x, self_attention)
        x = self.cross_block(x, cross_attention)
        return self.ff_block(x, self.feed_forward), weights
