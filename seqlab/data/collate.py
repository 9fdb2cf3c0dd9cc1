"""Batching: lists of token ids -> padded tensors."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def pad_sequences(seqs: Sequence[Sequence[int]], pad_id: int, *, max_len: int | None = None) -> torch.Tensor:
    """Right-pad id lists to the longest (B, T); ``max_len`` truncates."""
    length = max((len(s) for s in seqs), default=0)
    length = min(length, max_len) if max_len else length
    out = torch.full((len(seqs), length), pad_id, dtype=torch.long)
    for i, seq in enumerate(seqs):
        seq = list(seq)[:length]
        out[i, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    return out
