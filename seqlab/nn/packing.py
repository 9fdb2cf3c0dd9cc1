"""Packed (padding-free) sequences: only the real tokens go through the position-wise layers.

A batch padded to its longest sequence spends the work of every linear layer, LayerNorm and feed-forward on
padding too. Those layers treat each position alone, so they can run on the real tokens only, packed into one
(N, D) matrix (N = the number of real tokens); attention, the one layer that mixes positions, unpacks its
queries/keys/values to (B, T, .) for the padded kernel and packs its output again. On sentence batches
(SST-2: about half of a padded batch is padding) this is most of the work saved; the outputs at real positions
are the padded model's, and padding positions come back as zeros.

Shapes: B batch, T padded length, N real tokens, D width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Packing:
    """Where the N real tokens of a (B, T) batch sit: ``index`` (N,) into the flattened B * T positions."""

    index: torch.Tensor  # (N,) long
    batch: int
    length: int

    @classmethod
    def from_mask(cls, attention_mask: torch.Tensor) -> Packing | None:
        """attention_mask (B, T), nonzero = a real token -> the packing, or None when nothing is padding."""
        b, t = attention_mask.shape
        real = attention_mask.reshape(-1).bool()
        if bool(real.all()):
            return None
        return cls(real.nonzero().squeeze(1), b, t)

    def pack(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, ...) -> (N, ...)."""
        return x.flatten(0, 1).index_select(0, self.index)

    def unpack(self, x: torch.Tensor) -> torch.Tensor:
        """(N, ...) -> (B, T, ...), zeros at the padding."""
        out = x.new_zeros((self.batch * self.length, *x.shape[1:]))
        return out.index_copy(0, self.index, x).view(self.batch, self.length, *x.shape[1:])
