"""Decoding for encoder-decoder models: greedy search and beam search with a length penalty.

Works with any model that has ``encode``, ``decode`` (teacher forcing), ``start_decoding``
and ``decode_step`` (incremental, KV-cached) and the ids ``bos_id``, ``eos_id``, ``pad_id``,
as ``seqlab.models.Transformer`` does.

Outputs hold the generated tokens without <bos>; positions after <eos> hold <pad>.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

from seqlab.generation.beam import Beams, length_penalty  # noqa: F401  (length_penalty: public here too)


class Seq2SeqModel(Protocol):
    bos_id: int
    eos_id: int
    pad_id: int

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...
    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor, *,
               last_only: bool = False) -> tuple: ...
    def start_decoding(self, memory: torch.Tensor, memory_mask: torch.Tensor, max_len: int) -> Any: ...
    def decode_step(self, tokens: torch.Tensor, state: Any, input_pos: torch.Tensor) -> torch.Tensor: ...


class _StepLogits:
    """next-token logits (B, V) at position t, with or without the KV cache."""

    def __init__(self, model: Seq2SeqModel, memory: torch.Tensor, memory_mask: torch.Tensor,
                 max_len: int, use_cache: bool):
        self.model, self.memory, self.memory_mask = model, memory, memory_mask
        self.state = model.start_decoding(memory, memory_mask, max_len + 1) if use_cache else None

    def __call__(self, prefix: torch.Tensor) -> torch.Tensor:
        t = prefix.size(1) - 1
        if self.state is None:  # recompute the whole prefix: O(T^2) per step, the reference path
            return self.model.decode(prefix, self.memory, self.memory_mask, last_only=True)[0][:, -1]
        input_pos = torch.tensor([t], device=prefix.device)
        return self.model.decode_step(prefix[:, -1:], self.state, input_pos)[:, -1]

    def reorder(self, index: torch.Tensor) -> None:
        if self.state is None:
            self.memory = self.memory.index_select(0, index)
            self.memory_mask = self.memory_mask.index_select(0, index)
        else:
            self.state.reorder(index)


@torch.no_grad()
def greedy_search(model: Seq2SeqModel, src: torch.Tensor, max_len: int, *, use_cache: bool = True
                  ) -> torch.Tensor:
    """y_t = argmax p(y | y_<t, x) until <eos>: src (B, S) -> tokens (B, <= max_len)."""
    memory, memory_mask = model.encode(src)
    step = _StepLogits(model, memory, memory_mask, max_len, use_cache)
    prefix = torch.full((src.size(0), 1), model.bos_id, dtype=torch.long, device=src.device)
    finished = torch.zeros(src.size(0), dtype=torch.bool, device=src.device)
    for _ in range(max_len):
        next_token = step(prefix).argmax(-1)  # (B,)
        next_token = next_token.masked_fill(finished, model.pad_id)
        prefix = torch.cat([prefix, next_token[:, None]], dim=1)
        finished |= next_token == model.eos_id
        if finished.all():
            break
    return prefix[:, 1:]


@torch.no_grad()
def beam_search(
    model: Seq2SeqModel,
    src: torch.Tensor,
    max_len: int,
    *,
    beam_size: int = 4,
    alpha: float = 0.6,
    use_cache: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep the ``beam_size`` best prefixes by log-probability; pick the final one by score / lp(length).

    src (B, S) -> tokens (B, <= max_len), scores (B,) (length-normalised log-probabilities).
    A finished hypothesis stays in its beam with a frozen score (it may only be extended by <pad>).
    """
    memory, memory_mask = model.encode(src)
    rows = torch.arange(src.size(0), device=src.device).repeat_interleave(beam_size)  # (B*K,) source of each
    step = _StepLogits(model, memory.index_select(0, rows), memory_mask.index_select(0, rows),
                       max_len, use_cache)
    start = torch.full((src.size(0), 1), model.bos_id, dtype=torch.long, device=src.device)
    beams = Beams(start, beam_size, eos_id=model.eos_id, pad_id=model.pad_id)
    for _ in range(max_len):
        step.reorder(beams.advance(step(beams.tokens)))
        if beams.done:
            break
    tokens, scores = beams.best(alpha)
    return tokens[:, 1:], scores


def strip_special(tokens: torch.Tensor, eos_id: int, pad_id: int) -> list[list[int]]:
    """Token rows -> lists of ids up to (without) the first <eos>."""
    out = []
    for row in tokens.tolist():
        ids = []
        for tok in row:
            if tok in (eos_id, pad_id):
                break
            ids.append(tok)
        out.append(ids)
    return out
