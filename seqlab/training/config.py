"""Typed training configs: the optimiser (``optim``) and the loop (``train``), validated on construction.

A recipe file has both sections; ``seqlab train CONFIG --optim.lr=3e-4 --train.grad_accum_steps=4``
overrides any key, and a bad value is refused with a message naming the key and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from seqlab.training.schedules import SCHEDULES

OPTIMIZERS = ("adamw", "sgd")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
NONFINITE_POLICIES = ("skip", "stop")


def _positive(name: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive number, got {value}")


@dataclass
class OptimConfig:
    name: str = "adamw"  # adamw | sgd
    lr: float = 1e-3  # peak learning rate, reached at the end of warmup
    betas: tuple[float, float] = (0.9, 0.98)  # adamw
    eps: float = 1e-9  # adamw
    momentum: float = 0.9  # sgd
    nesterov: bool = False  # sgd
    weight_decay: float = 0.0  # on matrices only (biases and norm gains are never decayed)
    schedule: str = "inverse_sqrt"  # inverse_sqrt (paper) | linear | cosine | constant, each with linear warmup
    warmup_steps: int = 200
    min_lr_ratio: float = 0.1  # cosine decays to lr * min_lr_ratio

    def __post_init__(self) -> None:
        if self.name not in OPTIMIZERS:
            raise ValueError(f"name must be one of {', '.join(OPTIMIZERS)}, got {self.name!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        _positive("lr", self.lr)
        if self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must not be negative, got {self.warmup_steps}")
        if not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas must lie in [0, 1), got {list(self.betas)}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), got {self.momentum}")
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov needs momentum > 0")
        if self.weight_decay < 0 or not 0 <= self.min_lr_ratio <= 1:
            raise ValueError("weight_decay must not be negative and min_lr_ratio must lie in [0, 1]")


@dataclass
class EarlyStoppingConfig:
    """Stop when the validation ``metric`` has not improved by ``min_delta`` for ``patience`` evaluations."""

    metric: str | None = None  # a key of the task's evaluation, e.g. "loss" or "accuracy"; None = off
    mode: str = "max"  # max | min: whether larger values are better
    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True  # end with the best evaluated weights, not the last ones

    def __post_init__(self) -> None:
        if self.mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {self.mode!r}")
        if self.patience < 1 or self.min_delta < 0:
            raise ValueError("patience must be at least 1 and min_delta must not be negative")


@dataclass
class TrainConfig:
    steps: int = 2000  # optimiser steps
    batch_size: int = 64  # examples per optimiser step, whatever the number of processes and micro-batches
    grad_accum_steps: int = 1  # split each batch into this many micro-batches (same result, less memory)
    clip_grad_norm: float | None = 1.0
    precision: str = "auto"  # auto | fp32 | bf16 (autocast) | fp16 (CUDA, with a gradient scaler)
    eval_every: int = 250
    log_every: int = 25
    checkpoint_every: int | None = None  # steps between checkpoints (None: at each evaluation and at the end)
    max_minutes: float | None = None  # stop training when this wall-clock budget is spent
    on_nonfinite: str = "skip"  # a NaN/inf loss or gradient: skip the step (up to max_nonfinite) or stop
    max_nonfinite: int = 10  # consecutive skipped steps before the run stops
    seed: int = 0
    deterministic: bool = False  # torch.use_deterministic_algorithms (bit-exact reruns and resumes on CPU)
    device: str = "auto"  # auto | cpu | cuda[:N]
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.on_nonfinite not in NONFINITE_POLICIES:
            raise ValueError(f"on_nonfinite must be 'skip' or 'stop', got {self.on_nonfinite!r}")
        for name in ("batch_size", "grad_accum_steps", "eval_every", "log_every", "max_nonfinite"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.checkpoint_every is not None and self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be at least 1 (or null), got {self.checkpoint_every}")
        if self.batch_size < self.grad_accum_steps:
            raise ValueError(f"batch_size ({self.batch_size}) must be at least grad_accum_steps "
                             f"({self.grad_accum_steps})")
        if self.steps < 0:
            raise ValueError(f"steps must not be negative, got {self.steps}")
        if self.clip_grad_norm is not None:
            _positive("clip_grad_norm", self.clip_grad_norm)
        if self.max_minutes is not None:
            _positive("max_minutes", self.max_minutes)
        if self.device != "auto" and not self.device.startswith(("cpu", "cuda")):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {self.device!r}")


def check_early_stopping(train: TrainConfig, metrics: Mapping[str, str], task: str) -> None:
    """``train.early_stopping.metric`` must be one the task's dev evaluation reports (``metrics``: name -> "max"
    or "min", the better direction) and ``mode`` must match it, checked when the config is built, not at the
    first evaluation."""
    stopping = train.early_stopping
    if stopping.metric is None:
        return
    if stopping.metric not in metrics:
        raise ValueError(f"train.early_stopping.metric={stopping.metric!r}: the {task} task evaluates "
                         f"{', '.join(sorted(metrics))} on its dev set")
    if stopping.mode != metrics[stopping.metric]:
        raise ValueError(f"train.early_stopping.mode={stopping.mode!r}: {stopping.metric} is better when "
                         f"{'larger' if metrics[stopping.metric] == 'max' else 'smaller'} (mode: "
                         f"{metrics[stopping.metric]})")
