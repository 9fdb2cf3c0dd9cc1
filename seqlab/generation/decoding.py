"""One generation loop for every decoder-only model that writes text (the RNN language model, GPT, ...).

A model takes part by offering two calls with explicit state (``DecoderOnlyLM``):

    prefill(prompt (B, P), max_len) -> logits (B, V) of the token after the prompt, state
                                    (a Transformer also takes ``attention_mask`` (B, P) for left padding, and
                                    ``use_cache=False`` to recompute the prefix at every step)
    step(tokens (B, 1), state)      -> logits (B, V) of the next token, state
    reorder_state(state, index)     -> the state of rows ``index`` (beam search keeps the best hypotheses)

For a recurrent model the state is its (h, c); for a Transformer, its per-layer KV caches and position.
The loop owns everything else: greedy, temperature / top-k / top-p sampling, beam search, stopping at
<eos> or at stop strings, the length limit, and a per-token callback for streaming.

Shapes: B batch, P prompt length, N new tokens, V vocabulary, K beam size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from seqlab.generation.beam import Beams
from seqlab.generation.sampling import sample_next


class DecoderOnlyLM(Protocol):
    def prefill(self, prompt: torch.Tensor, max_len: int) -> tuple[torch.Tensor, Any]: ...
    def step(self, tokens: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]: ...
    def reorder_state(self, state: Any, index: torch.Tensor) -> Any: ...


@dataclass
class StopRule:
    """When a row is done: it produced ``eos_id``, or its new text (``decode`` of the new ids) holds a stop string."""

    eos_id: int | None = None
    stop_strings: Sequence[str] = ()
    decode: Callable[[list[int]], str] | None = None

    def __post_init__(self) -> None:
        if self.stop_strings and self.decode is None:
            raise ValueError("stop_strings need a decode function (ids -> text)")

    def hit(self, new_ids: list[int]) -> bool:
        if self.eos_id is not None and new_ids and new_ids[-1] == self.eos_id:
            return True
        if self.stop_strings:
            text = self.decode(new_ids)
            return any(s in text for s in self.stop_strings)
        return False


def generate_tokens(
    model: DecoderOnlyLM,
    prompt: torch.Tensor,
    max_new_tokens: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    repetition_penalty: float = 1.0,
    generator: torch.Generator | None = None,
    eos_id: int | None = None,
    stop_strings: Sequence[str] = (),
    decode: Callable[[list[int]], str] | None = None,
    pad_id: int = 0,
    attention_mask: torch.Tensor | None = None,
    use_cache: bool = True,
) -> Iterator[torch.Tensor]:
    """The loop itself, as an iterator: yields the tokens (B,) of each step as soon as they are drawn, ``pad_id``
    for rows already stopped (``generate`` documents the options). Streaming reads it token by token."""
    _check_prompt(prompt, max_new_tokens)
    if not (repetition_penalty > 0 and math.isfinite(repetition_penalty)):
        raise ValueError(f"repetition_penalty must be a positive number (1 = none), got {repetition_penalty}")
    rule = StopRule(eos_id, stop_strings, decode)
    with torch.no_grad():
        logits, state = model.prefill(prompt, prompt.size(1) + max_new_tokens,
                                      **_prefill_options(attention_mask, use_cache))
    seen = prompt if attention_mask is None else prompt.masked_fill(~attention_mask.bool(), 0)
    new = torch.empty((prompt.size(0), 0), dtype=torch.long, device=prompt.device)
    done = torch.zeros(prompt.size(0), dtype=torch.bool, device=prompt.device)
    for i in range(max_new_tokens):
        if repetition_penalty != 1.0:
            logits = penalise_repetition(logits, torch.cat([seen, new.clamp_min(0)], dim=1), repetition_penalty)
        token = sample_next(logits, temperature=temperature, top_k=top_k, top_p=top_p, generator=generator)  # (B,)
        token = token.masked_fill(done, pad_id)
        new = torch.cat([new, token[:, None]], dim=1)  # (B, i + 1)
        yield token
        done |= _stopped(rule, new, done)
        if done.all() or i + 1 == max_new_tokens:
            return
        # rows that stopped feed id 0 (any valid id: their logits are never read), so pad_id may be -1
        with torch.no_grad():
            logits, state = model.step(token.masked_fill(done, 0)[:, None], state)  # (B, V)


@torch.no_grad()
def generate(
    model: DecoderOnlyLM,
    prompt: torch.Tensor,
    max_new_tokens: int,
    *,
    on_token: Callable[[torch.Tensor], None] | None = None,
    **options: Any,
) -> torch.Tensor:
    """prompt (B, P) -> (B, P + N), N <= max_new_tokens: sample (``temperature=0``: greedy) one token at a time.

    Options: ``temperature``, ``top_k``, ``top_p`` (seqlab.generation.sampling), ``repetition_penalty`` (CTRL's:
    the logits of tokens already in the text are divided by it where positive, multiplied where negative),
    ``generator`` (a seeded torch.Generator), ``eos_id``, ``stop_strings`` with ``decode`` (ids -> text), ``pad_id``,
    ``attention_mask`` and ``use_cache``. A row stops at ``eos_id`` (kept) or once its new text holds a stop string;
    later positions hold ``pad_id``, and the loop ends when every row has stopped. ``on_token(tokens (B,))`` is
    called after each step. Prompts of different lengths are padded on the left, with ``attention_mask`` (B, P)
    marking the real tokens. Call ``model.eval()`` first to switch dropout off.
    """
    steps = []
    for token in generate_tokens(model, prompt, max_new_tokens, **options):
        steps.append(token)
        if on_token is not None:
            on_token(token)
    return torch.cat([prompt, torch.stack(steps, dim=1)], dim=1)


def penalise_repetition(logits: torch.Tensor, seen: torch.Tensor, penalty: float) -> torch.Tensor:
    """logits (B, V), seen ids (B, T) -> logits with every seen token made less likely (Keskar et al. 2019)."""
    picked = logits.gather(1, seen)  # (B, T)
    picked = torch.where(picked > 0, picked / penalty, picked * penalty)
    return logits.scatter(1, seen, picked)


def _stopped(rule: StopRule, new: torch.Tensor, done: torch.Tensor) -> torch.Tensor:
    if rule.eos_id is None and not rule.stop_strings:
        return done
    return torch.tensor([bool(d) or rule.hit(row) for d, row in zip(done.tolist(), new.tolist(), strict=True)],
                        device=done.device)


@torch.no_grad()
def beam_generate(
    model: DecoderOnlyLM,
    prompt: torch.Tensor,
    max_new_tokens: int,
    *,
    beam_size: int = 4,
    alpha: float = 0.0,
    eos_id: int | None = None,
    pad_id: int = 0,
    attention_mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``beam_size`` most probable continuations, the best of them by log-probability / lp(length)
    (GNMT penalty; ``alpha=0``: raw log-probability): prompt (B, P) -> tokens (B, P + N), scores (B,)."""
    _check_prompt(prompt, max_new_tokens)
    rows = torch.arange(prompt.size(0), device=prompt.device).repeat_interleave(beam_size)  # (B*K,)
    mask = None if attention_mask is None else attention_mask.index_select(0, rows)
    logits, state = model.prefill(prompt.index_select(0, rows), prompt.size(1) + max_new_tokens,
                                  **_prefill_options(mask, True))
    beams = Beams(prompt, beam_size, eos_id=eos_id, pad_id=pad_id)
    for i in range(max_new_tokens):
        index = beams.advance(logits)
        if beams.done or i + 1 == max_new_tokens:
            break
        state = model.reorder_state(state, index)
        logits, state = model.step(beams.tokens[:, -1:], state)
    return beams.best(alpha)


def _prefill_options(attention_mask: torch.Tensor | None, use_cache: bool) -> dict:
    """Only what differs from the default goes to ``prefill``: a recurrent model takes neither option."""
    options = {} if attention_mask is None else {"attention_mask": attention_mask}
    return options if use_cache else {**options, "use_cache": False}


def _check_prompt(prompt: torch.Tensor, max_new_tokens: int) -> None:
    if prompt.dim() != 2 or prompt.size(1) < 1:
        raise ValueError(f"prompt must be (B, P) with P >= 1, got {tuple(prompt.shape)}")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
