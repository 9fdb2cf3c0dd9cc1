"""Learning-rate schedules as multipliers of the peak rate, for ``torch.optim.lr_scheduler.LambdaLR``."""

from __future__ import annotations

import math
from collections.abc import Callable


def noam_rate(step: int, d_model: int, warmup_steps: int, factor: float = 1.0) -> float:
    """The paper's rate (eq. 3): lrate = d_model^-0.5 * min(step^-0.5, step * warmup^-1.5), steps from 1."""
    step = max(step, 1)
    return factor * d_model**-0.5 * min(step**-0.5, step * warmup_steps**-1.5)


def inverse_sqrt(warmup_steps: int) -> Callable[[int], float]:
    """Linear warmup to 1, then 1/sqrt decay: ``noam_rate`` divided by its peak (at step = warmup)."""
    warmup_steps = max(warmup_steps, 1)

    def multiplier(step: int) -> float:
        step = step + 1  # LambdaLR counts from 0; the paper from 1
        return min(step / warmup_steps, math.sqrt(warmup_steps / step))

    return multiplier


def linear(warmup_steps: int, total_steps: int) -> Callable[[int], float]:
    """Linear warmup, then linear decay to 0 at ``total_steps`` (BERT)."""

    def multiplier(step: int) -> float:
        step = step + 1
        if step <= warmup_steps:
            return step / max(warmup_steps, 1)
        return max(0.0, (total_steps - step) / max(total_steps - warmup_steps, 1))

    return multiplier


def cosine(warmup_steps: int, total_steps: int, min_ratio: float = 0.1) -> Callable[[int], float]:
    """Linear warmup, then cosine decay to ``min_ratio`` (GPT-style)."""

    def multiplier(step: int) -> float:
        step = step + 1
        if step <= warmup_steps:
            return step / max(warmup_steps, 1)
        progress = min(1.0, (step - warmup_steps) / max(total_steps - warmup_steps, 1))
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return multiplier


def constant(warmup_steps: int) -> Callable[[int], float]:
    return lambda step: min(1.0, (step + 1) / max(warmup_steps, 1))


SCHEDULES = ("inverse_sqrt", "linear", "cosine", "constant")


def build_schedule(name: str, warmup_steps: int, total_steps: int, min_ratio: float = 0.1) -> Callable[[int], float]:
    schedules = {
        "inverse_sqrt": lambda: inverse_sqrt(warmup_steps),
        "linear": lambda: linear(warmup_steps, total_steps),
        "cosine": lambda: cosine(warmup_steps, total_steps, min_ratio),
        "constant": lambda: constant(warmup_steps),
    }
    if name not in schedules:
        raise ValueError(f"unknown schedule {name!r} (choose from {sorted(schedules)})")
    return schedules[name]()
