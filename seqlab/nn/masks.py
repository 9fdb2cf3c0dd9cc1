"""The one mask convention of seqlab, and the one causal rule.

A mask is a boolean tensor where **True means "may attend"** (the convention of
``F.scaled_dot_product_attention`` and torchtune). It broadcasts against attention
scores of shape ``(B, H, Tq, Tk)``; the helpers below return ``(B, 1, 1, Tk)`` for
padding and ``(Tq, Tk)`` for causality, so ``padding & causal`` combines them.

Causal attention, with or without a KV cache, follows one rule (``causal_mask``,
applied by ``resolve_causal``): the Tq queries are the **last** Tq positions of the Tk
keys (bottom-right aligned), and a query at absolute position p sees keys 0..p. With a
cache the keys are positions 0..input_pos[-1] (what ``KVCache.update`` returns) and the
queries sit at ``input_pos``, so the rule needs no positions of its own.

An additive float ``bias`` (relative positions, ALiBi) is not a mask: attention adds it to
the scores, and a mask (or the causal rule) still decides who may attend.
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
    q_len: int, k_len: int | None = None, *, offset: int | None = None, device: torch.device | None = None
) -> torch.Tensor:
    """Query i, at absolute position offset+i, may attend to keys 0..offset+i: (Tq, Tk) bool.

    ``offset`` defaults to Tk - Tq: the queries are the last Tq key positions (bottom-right).
    """
    if k_len is None:
        k_len = q_len + (offset or 0)
    offset = k_len - q_len if offset is None else offset
    q_pos = torch.arange(q_len, device=device)[:, None] + offset
    k_pos = torch.arange(k_len, device=device)[None, :]
    return k_pos <= q_pos


def resolve_causal(
    mask: torch.Tensor | None,
    *,
    is_causal: bool,
    q_len: int,
    k_len: int,
    device: torch.device | None = None,
    explicit: bool = False,
) -> tuple[torch.Tensor | None, bool]:
    """Fold causality into ``mask``: returns (mask or None, whether SDPA may apply its own ``is_causal``).

    SDPA's ``is_causal`` aligns top-left and cannot be combined with a mask, so it stands in for
    the rule only where the two agree and nothing else applies: no mask, Tq == Tk. A single query
    (one cached decoding step) sees every key and needs no mask. Everywhere else the causal mask is
    built and and-ed with ``mask``; ``explicit`` always builds it (the eager path, an additive bias).
    """
    if not is_causal:
        return mask, False
    if mask is None and not explicit:
        if q_len == k_len:
            return None, True
        if q_len == 1:
            return None, False
    causal = causal_mask(q_len, k_len, device=device)  # (Tq, Tk)
    return (causal if mask is None else mask & causal), False
