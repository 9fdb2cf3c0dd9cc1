"""Transformer-XL's segment-level recurrence memory (Dai et al. 2019, section 3.2).

A segment's hidden states are kept and the next segment's layer n attends to them as well as to its own tokens:

    h~^{n-1}_{tau+1} = [SG(m^{n-1}_tau) ; h^{n-1}_{tau+1}]     keys and values from h~, queries from h only

m^{n-1} holds the last ``mem_len`` inputs of layer n, SG stops the gradient: training backpropagates within a segment
only, while information flows forward across segments, so the longest dependency grows as O(N x segments). The
memory may be longer at evaluation than in training (the paper evaluates WikiText-103 with 1,600 after training
with 150), because relative positions have no fixed range.

Shapes: B batch, M memory length (<= mem_len), T segment length, D model width, L layers.
"""

from __future__ import annotations

import torch


class SegmentMemory:
    """The last ``mem_len`` inputs of each layer, (B, M, D) each, detached. ``read(n)`` before a segment,
    ``update(inputs)`` after it (the inputs of every layer for that segment); ``reset()`` starts a new text."""

    def __init__(self, mem_len: int):
        if mem_len < 0:
            raise ValueError(f"mem_len must be >= 0, got {mem_len}")
        self.mem_len = mem_len
        self.states: list[torch.Tensor] | None = None

    def __len__(self) -> int:
        """The number of positions held (M)."""
        return 0 if self.states is None else self.states[0].size(1)

    def reset(self) -> None:
        self.states = None

    def read(self, layer: int) -> torch.Tensor | None:
        """Layer ``layer``'s memory (B, M, D), or None when empty."""
        return None if self.states is None or not len(self) else self.states[layer]

    @torch.no_grad()
    def update(self, layer_inputs: list[torch.Tensor]) -> None:
        """Append this segment's layer inputs (B, T, D) each and keep the last mem_len positions, without graph."""
        if self.states is None:
            self.states = [h.detach()[:, max(0, h.size(1) - self.mem_len):] for h in layer_inputs]
            return
        if len(layer_inputs) != len(self.states):
            raise ValueError(f"the memory holds {len(self.states)} layers, got {len(layer_inputs)}")
        self.states = [torch.cat([m, h.detach()], dim=1)[:, -self.mem_len:] if self.mem_len else m[:, :0]
                       for m, h in zip(self.states, layer_inputs, strict=True)]

    def reorder(self, index: torch.Tensor) -> None:
        """Keep batch rows ``index`` (beam search)."""
        if self.states is not None:
            self.states = [m.index_select(0, index) for m in self.states]
