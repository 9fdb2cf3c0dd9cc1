"""One model-agnostic Trainer for every task (in the spirit of minGPT's trainer).

The model owns its loss: ``model.loss(**batch) -> scalar``. The Trainer owns the loop:
AdamW, warmup schedule, gradient clipping, optional bf16 autocast, periodic evaluation,
callbacks, a progress bar, a time budget and safetensors checkpoints.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from seqlab.errors import SeqlabError
from seqlab.io import write_json
from seqlab.training.checkpoint import save_weights
from seqlab.training.schedules import SCHEDULES, build_schedule

Batch = dict[str, torch.Tensor]


@dataclass
class TrainConfig:
    steps: int = 2000
    batch_size: int = 64
    lr: float = 1e-3  # peak learning rate, reached at the end of warmup
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = 1e-9
    weight_decay: float = 0.0
    schedule: str = "inverse_sqrt"  # inverse_sqrt (paper) | linear | cosine | constant
    warmup_steps: int = 200
    clip_grad_norm: float | None = 1.0
    precision: str = "auto"  # auto | fp32 | bf16 (autocast); auto = bf16 where the hardware runs it natively
    eval_every: int = 250
    log_every: int = 25
    max_minutes: float | None = None  # stop training when this wall-clock budget is spent
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda

    def __post_init__(self) -> None:
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', got {self.precision!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        for name in ("batch_size", "eval_every", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.steps < 0 or self.warmup_steps < 0:
            raise ValueError("steps and warmup_steps must not be negative")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr}")
        if self.max_minutes is not None and not (self.max_minutes > 0 and math.isfinite(self.max_minutes)):
            raise ValueError(f"max_minutes must be a positive number, got {self.max_minutes}")
        if self.device != "auto" and not self.device.startswith(("cpu", "cuda")):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {self.device!r}")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SeqlabError(f"device {name!r} asked for, but PyTorch sees no CUDA device here (use cpu or auto)")
    return torch.device(name)


def native_bf16(device: torch.device) -> bool:
    """Whether bf16 matmuls run on dedicated hardware. Without it (e.g. an AVX2-only CPU) PyTorch falls
    back to a scalar path that is ~100x slower than fp32, so "auto" must not pick bf16 there."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return precision


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    if resolve_precision(precision, device) == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


class Callback:
    """Hooks; set ``trainer.should_stop = True`` to end training after the current step."""

    def on_log(self, trainer: Trainer, record: dict) -> None: ...
    def on_evaluate(self, trainer: Trainer, metrics: dict) -> None: ...


class EarlyStopping(Callback):
    """Stop once ``metric`` has reached ``target`` in ``patience`` consecutive evaluations."""

    def __init__(self, metric: str, target: float, patience: int = 1):
        self.metric, self.target, self.patience, self.hits = metric, target, patience, 0

    def on_evaluate(self, trainer: Trainer, metrics: dict) -> None:
        self.hits = self.hits + 1 if metrics.get(self.metric, float("-inf")) >= self.target else 0
        if self.hits >= self.patience:
            trainer.should_stop = True


class Trainer:
    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig,
        *,
        callbacks: Sequence[Callback] = (),
        checkpoint_dir: str | Path | None = None,
        count_tokens: Callable[[Batch], int] | None = None,
        progress: bool = True,
    ):
        self.config = config
        self.device = resolve_device(config.device)
        self.model = model.to(self.device)
        self.callbacks = list(callbacks)
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.count_tokens = count_tokens
        self.progress = progress
        self.optimizer = torch.optim.AdamW(self._param_groups(), lr=config.lr, betas=config.betas,
                                           eps=config.eps)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, build_schedule(config.schedule, config.warmup_steps, config.steps))
        self.step = 0
        self.history: list[dict] = []  # one record per log point and per evaluation
        self.should_stop = False
        self.last_eval_step = -1

    def _param_groups(self) -> list[dict]:
        """Weight decay on matrices only: biases, LayerNorm gains and such stay undecayed."""
        params = [p for p in self.model.parameters() if p.requires_grad]
        decay = [p for p in params if p.dim() >= 2]
        no_decay = [p for p in params if p.dim() < 2]
        return [{"params": decay, "weight_decay": self.config.weight_decay},
                {"params": no_decay, "weight_decay": 0.0}]

    def autocast(self) -> contextlib.AbstractContextManager:
        return autocast(self.device, self.config.precision)

    def train_step(self, batch: Batch) -> float:
        self.model.train()
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        with self.autocast():
            loss = self.model.loss(**batch)
        loss.backward()
        if self.config.clip_grad_norm:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        return loss.item()

    def evaluate(self, evaluate: Callable[[nn.Module], dict]) -> dict:
        self.model.eval()
        with torch.no_grad(), self.autocast():
            metrics = evaluate(self.model)
        self.model.train()
        self.last_eval_step = self.step
        record = {"step": self.step, **{f"eval_{k}": v for k, v in metrics.items()}}
        self.history.append(record)
        for cb in self.callbacks:
            cb.on_evaluate(self, metrics)
        self.save_checkpoint()
        return metrics

    def save_checkpoint(self) -> None:
        if self.checkpoint_dir is not None:
            save_weights(self.model, self.checkpoint_dir / "model.safetensors")
            write_json(self.checkpoint_dir / "trainer_state.json", {"step": self.step, "history": self.history})

    def fit(self, batches: Iterable[Batch], evaluate: Callable[[nn.Module], dict] | None = None) -> list[dict]:
        """Train for ``config.steps`` steps (or until the time budget or a callback stops it).

        ``batches`` may be endless (a generator) or re-iterable (a list, a DataLoader): then each
        pass over it is an epoch.
        """
        cfg = self.config
        start = time.perf_counter()
        deadline = start + cfg.max_minutes * 60 if cfg.max_minutes else float("inf")
        losses, tokens, last_log = [], 0, start
        bar = tqdm(total=cfg.steps, desc="train", disable=not self.progress, dynamic_ncols=True, leave=True)
        batch_iter = iter(batches)
        while self.step < cfg.steps and not self.should_stop and time.perf_counter() < deadline:
            batch = next(batch_iter, None)
            if batch is None:  # end of an epoch
                batch_iter = iter(batches)
                batch = next(batch_iter, None)
                if batch is None:
                    raise ValueError("the training data yielded no batch")
            tokens += self.count_tokens(batch) if self.count_tokens else 0
            losses.append(self.train_step(batch))
            bar.update(1)
            if self.step % cfg.log_every == 0:
                now = time.perf_counter()
                record = {"step": self.step, "loss": sum(losses) / len(losses),
                          "lr": self.scheduler.get_last_lr()[0], "elapsed_s": round(now - start, 2)}
                if self.count_tokens:
                    record["tokens_per_s"] = round(tokens / (now - last_log), 1)
                self.history.append(record)
                bar.set_postfix(loss=f"{record['loss']:.4f}", lr=f"{record['lr']:.2e}")
                for cb in self.callbacks:
                    cb.on_log(self, record)
                losses, tokens, last_log = [], 0, now
            if evaluate is not None and self.step % cfg.eval_every == 0:
                metrics = self.evaluate(evaluate)
                bar.write(f"step {self.step}: " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
        bar.close()
        if evaluate is not None and self.last_eval_step != self.step:
            self.evaluate(evaluate)
        return self.history
