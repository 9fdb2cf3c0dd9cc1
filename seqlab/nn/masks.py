"""The one mask convention of seqlab.

A mask is a boolean tensor where **True means "may attend"** (the convention of
``F.scaled_dot_product_attention`` and torchtune). It broadcasts against attention
scores of shape ``(B, H, Tq, Tk)``; the helpers below return ``(B, 1, 1, Tk)`` for
padding and ``(Tq, Tk)`` for causality, so ``padding & causal`` combines them.
"""

from __future__ import annotations

import torch


def padding_mask(tokens: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Keys that are real tokens: (B, T) ids -> (B, 1, 1, T) bool."""
    return (tokens != pad_id)[:, None, None, :]


def lengths_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """Keys before each sequence's length: (B,) lengths -> (B, 1, 1, T) bool."""
    positions = torch.arange(max_len, device=lengths.device)
    return (positions[None, :] < lengths[:, None])[:, None, None, :]


def causal_mask(
    q_len: int, k_len: int | None = None, *, offset: int = 0, device: torch.device | None = None
) -> torch.Tensor:
    """Query i (at absolute position offset+i) may attend to keys 0..offset+i: (Tq, Tk) bool."""
    k_len = q_len + offset if k_len is None else k_len
    q_pos = torch.arange(q_len, device=device)[:, None] + offset
    k_pos = torch.arange(k_len, device=device)[None, :]
    return k_pos <= q_pos

