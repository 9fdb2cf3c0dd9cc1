"""Linear-chain conditional random field: a tag sequence scored as a whole (Lafferty et al., 2001).

For emissions e_t(y) (one score per tag and position, e.g. from a BiLSTM) and a tag path y_1..y_n:

    score(x, y) = start[y_1] + sum_{t=1..n} e_t(y_t) + sum_{t=2..n} A[y_{t-1}, y_t] + end[y_n]
    p(y | x)    = exp(score(x, y)) / Z(x),   Z(x) = sum over all K^n paths y' of exp(score(x, y'))

log Z comes from the forward algorithm, the best path from the Viterbi algorithm; both are the same
recursion over alpha_t(j) (the best/summed score of paths ending in tag j at step t), with logsumexp or max:

    alpha_1(j) = start[j] + e_1(j)
    alpha_t(j) = logsumexp_i (alpha_{t-1}(i) + A[i, j]) + e_t(j)      (Viterbi: max_i, and remember argmax_i)
    log Z      = logsumexp_j (alpha_n(j) + end[j])

Shapes:
    B batch, T padded length, K tags. Batch-first. ``mask`` (B, T) is bool, True = real token, left-aligned
    (real tokens first); every sequence has at least one token. At padded positions alpha is carried over
    unchanged, so each sequence stops at its own length n.
"""

from __future__ import annotations

import torch
from torch import nn


class CRF(nn.Module):
    """Linear-chain CRF over ``num_tags`` tags: ``transitions[i, j]`` scores moving from tag i to tag j."""

    def __init__(self, num_tags: int):
        super().__init__()
        if num_tags < 1:
            raise ValueError(f"num_tags must be at least 1, got {num_tags}")
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))  # (K, K) A[from, to]
        self.start_transitions = nn.Parameter(torch.empty(num_tags))  # (K,)
        self.end_transitions = nn.Parameter(torch.empty(num_tags))  # (K,)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for p in (self.transitions, self.start_transitions, self.end_transitions):
            nn.init.uniform_(p, -0.1, 0.1)

    def extra_repr(self) -> str:
        return f"num_tags={self.num_tags}"

    def _check(self, emissions: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        if emissions.dim() != 3 or emissions.size(-1) != self.num_tags:
            raise ValueError(f"emissions must be (B, T, {self.num_tags}), got {tuple(emissions.shape)}")
        if mask is None:
            return torch.ones(emissions.shape[:2], dtype=torch.bool, device=emissions.device)
        if mask.shape != emissions.shape[:2]:
            raise ValueError(f"mask must be (B, T) = {tuple(emissions.shape[:2])}, got {tuple(mask.shape)}")
        mask = mask.bool()
        if not mask[:, 0].all():
            raise ValueError("every sequence needs at least one token, and masks must be left-aligned")
        return mask

    def score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """score(x, y) of the given tag paths: (B, T, K), (B, T), (B, T) -> (B,)."""
        mask = self._check(emissions, mask)
        if tags.shape != mask.shape:
            raise ValueError(f"tags must be (B, T) = {tuple(mask.shape)}, got {tuple(tags.shape)}")
        tags = tags.masked_fill(~mask, 0)  # padded positions may hold anything (e.g. -100): never read them
        m = mask.to(emissions.dtype)  # (B, T)
        emit = emissions.gather(2, tags.unsqueeze(-1)).squeeze(-1)  # (B, T) e_t(y_t)
        trans = self.transitions[tags[:, :-1], tags[:, 1:]]  # (B, T-1) A[y_{t-1}, y_t]
        last = tags.gather(1, mask.sum(1, keepdim=True) - 1).squeeze(1)  # (B,) y_n
        return (self.start_transitions[tags[:, 0]] + (emit * m).sum(1) + (trans * m[:, 1:]).sum(1)
                + self.end_transitions[last])

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """log Z(x) by the forward algorithm: (B, T, K), (B, T) -> (B,)."""
        mask = self._check(emissions, mask)
        alpha = self.start_transitions + emissions[:, 0]  # (B, K)
        for t in range(1, emissions.size(1)):
            # alpha_{t-1}(i) + A[i, j], summed over i: (B, K, 1) + (K, K) -> (B, K)
            step = torch.logsumexp(alpha.unsqueeze(2) + self.transitions, dim=1) + emissions[:, t]  # (B, K)
            alpha = torch.where(mask[:, t, None], step, alpha)
        return torch.logsumexp(alpha + self.end_transitions, dim=1)  # (B,)

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """-log p(y | x) = log Z(x) - score(x, y) per sequence: (B, T, K), (B, T), (B, T) -> (B,)."""
        return self.log_partition(emissions, mask) - self.score(emissions, tags, mask)

    forward = nll

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, mask: torch.Tensor | None = None) -> list[list[int]]:
        """Viterbi: argmax_y score(x, y), one best path per sequence, of its true length."""
        mask = self._check(emissions, mask)
        batch, length, k = emissions.shape
        delta = self.start_transitions + emissions[:, 0]  # (B, K) best score of a path ending in tag j
        keep = torch.arange(k, device=emissions.device).expand(batch, k)  # (B, K) "stay": pointer at padding
        backpointers = []
        for t in range(1, length):
            best, argbest = (delta.unsqueeze(2) + self.transitions).max(dim=1)  # (B, K), (B, K) over i
            real = mask[:, t, None]  # (B, 1)
            delta = torch.where(real, best + emissions[:, t], delta)
            backpointers.append(torch.where(real, argbest, keep))  # (B, K) tag at t-1 given tag j at t
        tag = (delta + self.end_transitions).argmax(dim=1)  # (B,) y_n, carried through the padding
        path = [tag]
        for pointers in reversed(backpointers):
            tag = pointers.gather(1, tag.unsqueeze(1)).squeeze(1)  # (B,)
            path.append(tag)
        tags = torch.stack(path[::-1], dim=1)  # (B, T)
        lengths = mask.sum(1).tolist()
        return [row[:n] for row, n in zip(tags.tolist(), lengths, strict=True)]
