"""Explicit key/value cache for incremental (autoregressive) decoding.

Decoding one token at a time would recompute keys and values of the whole prefix at
every step (O(T^2) projections). The cache keeps them: step t projects only token t
and appends it. Buffers are preallocated to ``max_len`` so decoding never reallocates.
"""

from __future__ import annotations

import torch
from torch import nn


class KVCache(nn.Module):
    """Keys and values of shape (B, H, max_len, Dh), filled at ``input_pos``."""

    def __init__(
        self,
        batch_size: int,
        max_len: int,
        n_heads: int,
        head_dim: int,
        *,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ):
        super().__init__()
        shape = (batch_size, n_heads, max_len, head_dim)
        self.register_buffer("k", torch.zeros(shape, dtype=dtype, device=device), persistent=False)
        self.register_buffer("v", torch.zeros(shape, dtype=dtype, device=device), persistent=False)
        self.length = 0  # number of positions filled so far

    @property
    def max_len(self) -> int:
        return self.k.shape[2]

    def reset(self) -> None:
        self.length = 0

    def update(
        self, input_pos: torch.Tensor, k: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Write k, v (B, H, T, Dh) at positions ``input_pos`` (T,); return keys/values 0..input_pos[-1].

        Returning the prefix up to the newest query (not every position ever written) keeps the queries
        the last Tq positions of the keys, the causal rule of ``seqlab.nn.masks``, also when a position
        is written again.
        """
        end = int(input_pos[-1]) + 1
        if end > self.max_len:
            raise ValueError(f"KVCache holds {self.max_len} positions; asked to write position {end - 1}")
        self.k[:, :, input_pos] = k.to(self.k.dtype)
        self.v[:, :, input_pos] = v.to(self.v.dtype)
        self.length = max(self.length, end)
        return self.k[:, :, :end], self.v[:, :, :end]  # (B, H, Tk, Dh)

    def reorder(self, index: torch.Tensor) -> None:
        """Keep batch rows ``index`` (B',): beam search picks which hypotheses survive."""
        self.k = self.k.index_select(0, index)
        self.v = self.v.index_select(0, index)
