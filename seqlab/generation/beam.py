"""Beam bookkeeping shared by every search: encoder-decoders (search.py) and decoder-only models (decoding.py).

Each of the B inputs keeps K hypotheses, stored flat as B*K rows. A step adds each row's next-token
log-probabilities to its score, keeps the K best (hypothesis, token) pairs per input, and says which rows
survive (``index``) so the caller can reorder its model state. A finished hypothesis (it produced <eos>)
stays with a frozen score and may only be extended by <pad>.

Shapes: B inputs, K beam size, V vocabulary, T tokens so far.
"""

from __future__ import annotations

import torch


def length_penalty(length: torch.Tensor, alpha: float) -> torch.Tensor:
    """GNMT (Wu et al., 2016): lp(Y) = ((5 + |Y|) / 6)^alpha; alpha = 0 ranks by raw log-probability."""
    return ((5.0 + length.float()) / 6.0) ** alpha


class Beams:
    """K hypotheses per input: their tokens (B*K, T), scores (B, K), lengths and finished flags (B*K,)."""

    def __init__(self, prefix: torch.Tensor, beam_size: int, *, eos_id: int | None, pad_id: int):
        """prefix (B, T0): the start of every hypothesis (<bos>, or a prompt), repeated K times per input."""
        self.batch, self.k, self.eos_id, self.pad_id = prefix.size(0), beam_size, eos_id, pad_id
        device = prefix.device
        self.tokens = prefix.repeat_interleave(beam_size, dim=0)  # (B*K, T0)
        self.scores = torch.full((self.batch, beam_size), float("-inf"), device=device)
        self.scores[:, 0] = 0.0  # all beams start identical: expand only the first
        self.finished = torch.zeros(self.batch * beam_size, dtype=torch.bool, device=device)
        self.lengths = torch.zeros(self.batch * beam_size, dtype=torch.long, device=device)

    def advance(self, logits: torch.Tensor) -> torch.Tensor:
        """logits (B*K, V) of every hypothesis' next token -> index (B*K,) of the rows that survive, in order."""
        log_probs = torch.log_softmax(logits.float(), dim=-1)  # (B*K, V)
        vocab = log_probs.size(-1)
        log_probs[self.finished] = float("-inf")
        log_probs[self.finished, self.pad_id] = 0.0
        candidates = (self.scores.view(-1, 1) + log_probs).view(self.batch, self.k * vocab)  # (B, K*V)
        self.scores, flat = candidates.topk(self.k, dim=-1)  # (B, K)
        beam = flat // vocab
        token = (flat % vocab).view(-1)  # (B*K,)
        index = (beam + torch.arange(self.batch, device=flat.device)[:, None] * self.k).view(-1)  # (B*K,)
        was_finished = self.finished.index_select(0, index)
        self.lengths = self.lengths.index_select(0, index) + (~was_finished).long()
        self.finished = was_finished if self.eos_id is None else was_finished | (token == self.eos_id)
        self.tokens = torch.cat([self.tokens.index_select(0, index), token[:, None]], dim=1)
        return index

    @property
    def done(self) -> bool:
        return bool(self.finished.all())

    def best(self, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
        """The best hypothesis per input by score / lp(length): tokens (B, T), scores (B,)."""
        normalised = self.scores / length_penalty(self.lengths.view(self.batch, self.k), alpha)  # (B, K)
        best = normalised.argmax(-1)  # (B,)
        pick = best + torch.arange(self.batch, device=best.device) * self.k
        return self.tokens[pick], normalised.gather(1, best[:, None]).squeeze(1)
