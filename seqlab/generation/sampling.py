"""Sampling the next token: temperature, top-k and top-p (nucleus) filtering.

    p_T(w) = softmax(z / T)(w)      T -> 0: argmax (greedy); T = 1: the model's distribution; T > 1: flatter
    top-k:  keep the k largest logits, renormalise
    top-p:  keep the smallest set of most probable tokens whose mass reaches p, renormalise (Holtzman et al., 2020)

Filters are applied in that order (temperature, then top-k, then top-p on what top-k kept), as Hugging Face
``generate`` does. Removed tokens get logit -inf, so the softmax gives them probability 0.

Shapes: B batch, V vocabulary.
"""

from __future__ import annotations

import math

import torch


def _check(temperature: float, top_k: int | None, top_p: float | None) -> None:
    if not (temperature >= 0.0 and math.isfinite(temperature)):
        raise ValueError(f"temperature must be a finite number >= 0 (0 = greedy), got {temperature}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be an integer >= 1 (or None for no top-k), got {top_k!r}")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1] (or None for no top-p), got {top_p}")


def filter_logits(logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """Logits (..., V) with -inf where top-k, then top-p, removed a token; always keeps at least one token."""
    _check(1.0, top_k, top_p)
    if top_k is not None and top_k < logits.size(-1):
        keep = torch.zeros_like(logits, dtype=torch.bool)
        keep.scatter_(-1, logits.topk(top_k, dim=-1).indices, True)  # exactly k, even with ties
        logits = logits.masked_fill(~keep, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)  # (..., V)
        probs = torch.softmax(sorted_logits.float(), dim=-1)
        mass_before = probs.cumsum(-1) - probs  # (..., V) mass of the more probable tokens
        drop_sorted = mass_before >= top_p  # the set already reached p without this token; never the first
        drop = drop_sorted.scatter(-1, order, drop_sorted)  # back to vocabulary order
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def sample_next(
    logits: torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw one token per row from softmax(filter(logits / T)): logits (B, V) -> tokens (B,) long.

    ``temperature=0`` is greedy argmax (top-k/top-p do not change the argmax). Pass a seeded
    ``torch.Generator`` (on the logits' device) for reproducible draws.
    """
    _check(temperature, top_k, top_p)
    if logits.dim() != 2:
        raise ValueError(f"logits must be (B, V), got shape {tuple(logits.shape)}")
    if temperature == 0.0:
        return logits.argmax(dim=-1)
    logits = filter_logits(logits.float() / temperature, top_k, top_p)  # (B, V)
    probs = torch.softmax(logits, dim=-1)  # (B, V)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(1)  # (B,)
