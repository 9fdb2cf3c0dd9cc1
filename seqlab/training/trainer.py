"""One model-agnostic Trainer for every task (in the spirit of minGPT's trainer).

The model owns its loss: ``model.loss(**batch) -> scalar`` (a mean over the batch). The Trainer owns the
loop: AdamW or SGD with a warmup schedule, gradient accumulation, clipping, bf16/fp16 autocast (fp16 with
a gradient scaler), evaluation with early stopping, NaN/inf detection, progress bar and CSV/TensorBoard
logs, atomic checkpoints that resume bit-exactly, and DistributedDataParallel under ``torchrun``. Plots are
the tasks' business (``seqlab.tasks.common.finish_training`` draws the learning curve): the loop draws none.

Data are global batches (``config.batch_size`` examples each): the Trainer splits every batch across
processes and micro-batches, weighting each slice's loss by its share, so neither changes the result.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from seqlab.config import to_dict
from seqlab.errors import SeqlabError
from seqlab.training import distributed as ddp
from seqlab.training.checkpoint import load_checkpoint, load_weights, save_checkpoint, save_weights, set_rng_state
from seqlab.training.config import EarlyStoppingConfig, OptimConfig, TrainConfig
from seqlab.training.loggers import RunLog
from seqlab.training.schedules import build_schedule

Batch = dict[str, torch.Tensor]
CHECKPOINT = "checkpoint.safetensors"
BEST_WEIGHTS = "best.safetensors"
log = logging.getLogger("seqlab.train")

__all__ = ["Callback", "OptimConfig", "StopAtTarget", "TrainConfig", "Trainer", "TrainingStopped"]


class TrainingStopped(SeqlabError):
    """Training ended early on purpose (non-finite loss, a signal); a checkpoint was written first.
    ``signal`` is the signal's number when one stopped it (the CLI exits with 128 + it, as shells expect)."""

    def __init__(self, message: str, *, signal: int | None = None):
        super().__init__(message)
        self.signal = signal


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


def fp16_supported(device: torch.device) -> bool:
    return device.type == "cuda"


def resolve_precision(precision: str, device: torch.device) -> str:
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    if precision == "fp16" and not fp16_supported(device):
        raise SeqlabError("precision fp16 needs a CUDA device (it trains with a gradient scaler); "
                          "on CPU use bf16 or fp32")
    return precision


AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def seed_everything(seed: int) -> None:
    """Python's, NumPy's and torch's (CPU and CUDA) generators."""
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def build_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    """Weight decay on matrices only: biases, LayerNorm gains and such stay undecayed."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    if cfg.name == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov)
    # the fused kernel updates each tensor in one pass: ~9x faster on a CPU, where the per-step loop over a word-level
    # embedding (33k x 400) otherwise costs a fifth of an LSTM's step
    fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, fused=fused or None)


class Callback:
    """Hooks; set ``trainer.should_stop = True`` to end training after the current step. A callback with
    state returns it from ``state_dict`` (JSON) so that resumed runs behave as uninterrupted ones."""

    def on_log(self, trainer: Trainer, record: dict) -> None: ...
    def on_evaluate(self, trainer: Trainer, metrics: dict) -> None: ...
    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None: ...


class StopAtTarget(Callback):
    """Stop once ``metric`` has reached ``target`` in ``patience`` consecutive evaluations: the run is good
    enough. (Early stopping proper, which stops when the metric stops improving, is ``train.early_stopping``.)"""

    def __init__(self, metric: str, target: float, patience: int = 1):
        self.metric, self.target, self.patience, self.hits = metric, target, patience, 0

    def on_evaluate(self, trainer: Trainer, metrics: dict) -> None:
        self.hits = self.hits + 1 if metrics.get(self.metric, float("-inf")) >= self.target else 0
        if self.hits >= self.patience:
            trainer.should_stop = True
            trainer.stop_reason = f"{self.metric} reached {self.target:g}"

    def state_dict(self) -> dict:
        return {"hits": self.hits}

    def load_state_dict(self, state: dict) -> None:
        self.hits = state["hits"]


class _Loss(nn.Module):
    """``model.loss`` as a forward pass: DistributedDataParallel synchronises gradients only through forward."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch: Batch) -> torch.Tensor:
        return self.model.loss(**batch)


class _Signals:
    """SIGINT/SIGTERM during fit: finish the step, save a checkpoint, stop. A second Ctrl-C stops at once."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: object) -> None:
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = signum

    def __enter__(self) -> _Signals:
        with contextlib.suppress(ValueError):  # only the main thread may set handlers (not so in some notebooks)
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


class Trainer:
    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig,
        optim: OptimConfig | None = None,
        *,
        callbacks: Sequence[Callback] = (),
        checkpoint_dir: str | Path | None = None,
        log_dir: str | Path | None = None,
        tensorboard: bool | None = None,
        count_tokens: Callable[[Batch], int] | None = None,
        progress: bool = True,
    ):
        self.config, self.optim_config = config, optim or OptimConfig()
        self.device = resolve_device(config.device)
        self.dist = ddp.init_distributed(self.device)
        if self.dist.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
        self.precision = resolve_precision(config.precision, self.device)
        if config.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS needs it to be deterministic
            torch.use_deterministic_algorithms(True)
        self.model = model.to(self.device)
        self.loss_fn: nn.Module = _Loss(self.model)
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            self.loss_fn = DistributedDataParallel(
                self.loss_fn, device_ids=[self.device.index] if self.device.type == "cuda" else None)
            if self.dist.rank:  # the same init on every process (DDP broadcasts rank 0's), different dropout
                torch.manual_seed(config.seed + self.dist.rank)
        self.callbacks = list(callbacks)
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.log_dir = Path(log_dir) if log_dir else None
        self.tensorboard = tensorboard
        self.count_tokens = count_tokens
        self.progress = progress and self.dist.is_main
        self.optimizer = build_optimizer(self.model, self.optim_config)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, build_schedule(
            self.optim_config.schedule, self.optim_config.warmup_steps, config.steps, self.optim_config.min_lr_ratio))
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")
        self.step = self.epoch = self.batch_in_epoch = 0
        self.history: list[dict] = []  # one record per log point and per evaluation
        self.should_stop = False
        self.stop_reason: str | None = None  # why fit() ended: "steps", "time budget", "early stopping", ...
        self.last_eval_step = -1
        self.nonfinite_in_a_row = 0
        self.elapsed_before = 0.0  # seconds trained before a resume
        self.best: dict | None = None  # early stopping: {"value", "step", "bad_evals"}
        self._best_weights: dict[str, torch.Tensor] | None = None
        self._signals = _Signals()
        self.run_log: RunLog | None = None
        self._pending_rng: tuple[dict, dict] | None = None

    # ---- one optimiser step ---------------------------------------------------------------------------

    def autocast(self) -> contextlib.AbstractContextManager:
        dtype = AUTOCAST_DTYPES.get(self.precision)
        return torch.autocast(self.device.type, dtype=dtype) if dtype else contextlib.nullcontext()

    def _micro_batches(self, batch: Batch) -> list[tuple[Batch, float]]:
        """This process's micro-batches with their loss weights: the share of the global batch, times the
        world size (DDP averages gradients over processes)."""
        local, share = ddp.shard(batch, self.dist)
        parts = ddp.split_batch(local, self.config.grad_accum_steps) if self.config.grad_accum_steps > 1 \
            else [(local, 1.0)]
        return [(b, w * share * self.dist.world_size) for b, w in parts]

    def train_step(self, batch: Batch) -> dict | None:
        """Forward, backward and update on one global batch. Returns the step's record, or None when the
        step was skipped (a non-finite loss or gradient, or an fp16 overflow the scaler caught)."""
        self.model.train()
        micro = self._micro_batches(batch)
        loss_sum = torch.zeros((), device=self.device)
        for i, (part, weight) in enumerate(micro):
            part = {k: v.to(self.device, non_blocking=True) for k, v in part.items()}
            last = i == len(micro) - 1
            sync = contextlib.nullcontext() if last or not self.dist.enabled else self.loss_fn.no_sync()
            with sync:
                with self.autocast():
                    loss = self.loss_fn(part)
                self.scaler.scale(loss.float() * weight).backward()
            loss_sum += loss.detach().float() * weight / self.dist.world_size  # summed over processes below
        self.scaler.unscale_(self.optimizer)
        grad_norm = self._clip_and_norm()
        loss_value, norm_value = loss_sum.item(), grad_norm.item()  # this process's share; the gradient's global
        overflow = self.scaler.is_enabled() and not math.isfinite(norm_value)  # the scaler's business
        bad = not math.isfinite(loss_value) or (not overflow and not math.isfinite(norm_value))
        loss_value, bad_anywhere = ddp.sum_over_ranks([loss_value, float(bad)], self.dist, self.device)
        if bad_anywhere:
            return self._skip_step(loss_value, norm_value)
        scale = self.scaler.get_scale() if self.scaler.is_enabled() else None
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        if scale is not None and self.scaler.get_scale() < scale:  # fp16 overflow: no update happened
            return None
        self.scheduler.step()
        self.step += 1
        self.nonfinite_in_a_row = 0
        return {"step": self.step, "epoch": self.epoch, "loss": loss_value,
                "lr": self.scheduler.get_last_lr()[0], "grad_norm": norm_value}

    def _clip_and_norm(self) -> torch.Tensor:
        params = [p for p in self.model.parameters() if p.grad is not None]
        if not params:
            raise SeqlabError("the loss has no gradient with respect to any trainable parameter")
        if self.config.clip_grad_norm:
            return nn.utils.clip_grad_norm_(params, self.config.clip_grad_norm)
        return nn.utils.get_total_norm([p.grad for p in params])

    def _skip_step(self, loss: float, grad_norm: float) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self.nonfinite_in_a_row += 1
        what = f"loss {loss}" if not math.isfinite(loss) else f"gradient norm {grad_norm}"
        self.history.append({"step": self.step, "skipped": what})
        limit = self.config.max_nonfinite if self.config.on_nonfinite == "skip" else 1
        if self.nonfinite_in_a_row >= limit:
            where = self.save_checkpoint()
            saved = f"; the last good state (step {self.step}) is in {where}" if where else ""
            raise TrainingStopped(f"step {self.step + 1}: {what} in {self.nonfinite_in_a_row} step(s) in a row, "
                                  f"training stopped (train.on_nonfinite={self.config.on_nonfinite}){saved}. "
                                  "Try a lower optim.lr, gradient clipping or fp32.")
        log.warning("step %d: %s, step skipped (%d in a row)", self.step + 1, what, self.nonfinite_in_a_row)
        return None

    # ---- evaluation and early stopping ------------------------------------------------------------------

    def evaluate(self, evaluate: Callable[[nn.Module], dict]) -> dict:
        self.model.eval()
        with torch.no_grad(), self.autocast():
            metrics = evaluate(self.model)
        self.model.train()
        self.last_eval_step = self.step
        record = {"step": self.step, **{f"eval_{k}": v for k, v in metrics.items()}}
        self.history.append(record)
        if self.run_log:
            self.run_log.evaluation(record)
        self._early_stopping(metrics)
        for cb in self.callbacks:
            cb.on_evaluate(self, metrics)
        return metrics

    def _early_stopping(self, metrics: dict) -> None:
        """``train.early_stopping``: stop after ``patience`` evaluations without a ``min_delta`` improvement."""
        cfg: EarlyStoppingConfig = self.config.early_stopping
        if cfg.metric is None:
            return
        if cfg.metric not in metrics:
            raise SeqlabError(f"train.early_stopping.metric={cfg.metric!r} is not among the evaluation's "
                              f"metrics ({', '.join(metrics)})")
        value = float(metrics[cfg.metric])
        sign = 1 if cfg.mode == "max" else -1
        if self.best is None or sign * (value - self.best["value"]) > cfg.min_delta:
            self.best = {"value": value, "step": self.step, "bad_evals": 0}
            if cfg.restore_best:
                self._keep_best_weights()
        else:
            self.best["bad_evals"] += 1
            if self.best["bad_evals"] >= cfg.patience:
                log.info("early stopping at step %d: best %s=%g at step %d", self.step, cfg.metric,
                         self.best["value"], self.best["step"])
                self.should_stop = True
                self.stop_reason = "early stopping"

    def _keep_best_weights(self) -> None:
        if self.checkpoint_dir is not None:
            if self.dist.is_main:
                save_weights(self.model, self.checkpoint_dir / BEST_WEIGHTS)
        else:
            self._best_weights = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}

    def _restore_best(self) -> None:
        cfg = self.config.early_stopping
        if cfg.metric is None or not cfg.restore_best or self.best is None or self.best["step"] == self.step:
            return
        if self._best_weights is not None:
            self.model.load_state_dict(self._best_weights)
        elif self.checkpoint_dir is not None and (self.checkpoint_dir / BEST_WEIGHTS).is_file():
            load_weights(self.model, self.checkpoint_dir / BEST_WEIGHTS)  # rank 0 only: it alone evaluates
        log.info("restored the best weights (step %d, %s=%g)", self.best["step"], cfg.metric, self.best["value"])

    # ---- checkpoints ------------------------------------------------------------------------------------

    @property
    def checkpoint_path(self) -> Path | None:
        return self.checkpoint_dir / CHECKPOINT if self.checkpoint_dir else None

    def state_dict(self) -> dict:
        """Everything but tensors that a resumed run needs to continue exactly."""
        return {
            "step": self.step, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
            "history": self.history, "last_eval_step": self.last_eval_step, "best": self.best,
            "nonfinite_in_a_row": self.nonfinite_in_a_row, "elapsed_s": self.elapsed_s,
            "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
            "callbacks": [cb.state_dict() for cb in self.callbacks],
            "train_config": to_dict(self.config), "optim_config": to_dict(self.optim_config),
        }

    def save_checkpoint(self) -> Path | None:
        """Write the checkpoint (rank 0 only; atomic, so a kill mid-save keeps the previous one)."""
        path = self.checkpoint_path
        if path is None or not self.dist.is_main:
            return path
        save_checkpoint(path, self.model, self.optimizer, self.state_dict())
        return path

    def load_checkpoint(self, path: str | Path | None = None) -> None:
        """Restore a checkpoint (default: this trainer's own) to continue exactly where it was written."""
        path = Path(path) if path else self.checkpoint_path
        if path is None:
            raise SeqlabError("resume asked for, but the trainer has no checkpoint_dir")
        if not path.is_file():
            raise SeqlabError(f"nothing to resume: no checkpoint at {path}")
        for stale in path.parent.glob(f".{path.name}.*.tmp"):  # a save the kill interrupted
            stale.unlink(missing_ok=True)
        state = load_checkpoint(path, self.model, self.optimizer, restore_rng=False)
        self._pending_rng = state["rng_tensors"], state["rng"]  # restored once the data are replayed (fit)
        for key in ("step", "epoch", "batch_in_epoch", "history", "last_eval_step", "best", "nonfinite_in_a_row"):
            setattr(self, key, copy.deepcopy(state[key]))
        self.elapsed_before = state["elapsed_s"]
        self.scheduler.load_state_dict(state["scheduler"])
        if state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        for cb, cb_state in zip(self.callbacks, state["callbacks"], strict=False):
            cb.load_state_dict(cb_state)

    # ---- the loop ---------------------------------------------------------------------------------------

    @property
    def elapsed_s(self) -> float:
        started = getattr(self, "_started", None)
        return round(self.elapsed_before + (time.perf_counter() - started if started is not None else 0.0), 2)

    def _epoch_batches(self, batches: Iterable[Batch], skip: int) -> Iterator[Batch]:
        """The batches of the current epoch, after the first ``skip`` (already trained on before a resume).
        Data whose order is a function of the epoch (``set_epoch``, as seqlab's samplers and PyTorch's
        DistributedSampler have) replay the same order, so the resumed run sees the same batches."""
        for holder in (batches, getattr(batches, "batch_sampler", None), getattr(batches, "sampler", None)):
            if hasattr(holder, "set_epoch"):
                holder.set_epoch(self.epoch)
        iterator = iter(batches)
        if skip and iterator is batches:
            raise SeqlabError("resuming needs data that can be iterated again from the start (a list, a "
                              "DataLoader, or an object whose __iter__ restarts the stream), not a generator")
        for done in range(skip):
            if next(iterator, None) is None:
                raise SeqlabError(f"resume: the data ran out after {done} batches, but the checkpoint had "
                                  f"trained on {skip} of this epoch (did the data change?)")
        return iterator

    def _next_batch(self, batches: Iterable[Batch], iterator: Iterator[Batch]) -> tuple[Batch | None, Iterator]:
        batch = next(iterator, None)
        if batch is None:  # end of an epoch
            if self.batch_in_epoch == 0:
                raise ValueError("the training data yielded no batch")
            if iter(batches) is batches:  # a one-shot iterator is used up: the end of training
                return None, iterator
            self.epoch, self.batch_in_epoch = self.epoch + 1, 0
            iterator = self._epoch_batches(batches, 0)
            batch = next(iterator, None)
            if batch is None:
                raise ValueError("the training data yielded no batch")
        self.batch_in_epoch += 1
        return batch, iterator

    def fit(self, batches: Iterable[Batch], evaluate: Callable[[nn.Module], dict] | None = None, *,
            resume: bool = False) -> list[dict]:
        """Train for ``config.steps`` steps (or until the time budget, early stopping or a callback ends it).

        ``batches`` may be endless or re-iterable (a list, a DataLoader): then each pass is an epoch. With
        ``resume``, continue from the checkpoint in ``checkpoint_dir``, bit-exactly on CPU.
        """
        if resume:
            self.load_checkpoint()
            self._announce(f"resumed from step {self.step} of {self.config.steps} ({self.checkpoint_path})")
        self.run_log = RunLog(self.log_dir, tensorboard=self.tensorboard,
                              resume_step=self.step if resume else None) if self.dist.is_main else None
        iterator = self._epoch_batches(batches, self.batch_in_epoch)
        if self._pending_rng is not None:  # after replaying the data: the random streams go on where they were
            set_rng_state(*self._pending_rng)
            self._pending_rng = None
            if self.dist.rank:  # every process restored rank 0's streams; keep their dropout masks apart
                torch.manual_seed(self.config.seed + self.dist.rank + self.step)
        try:
            with self._signals:
                self._loop(batches, iterator, evaluate)
        finally:
            if self.run_log:
                self.run_log.close()
        return self.history

    def _loop(self, batches: Iterable[Batch], iterator: Iterator[Batch],
              evaluate: Callable[[nn.Module], dict] | None) -> None:
        cfg = self.config
        self._started, self._first_step = time.perf_counter(), self.step
        deadline = self._started + cfg.max_minutes * 60 - self.elapsed_before if cfg.max_minutes else math.inf
        window = {"loss": 0.0, "steps": 0, "items": 0, "since": time.perf_counter()}
        bar = tqdm(total=cfg.steps, initial=self.step, desc="train", disable=not self.progress,
                   dynamic_ncols=True, leave=True)
        while self.step < cfg.steps:
            if ddp.any_rank(self.should_stop or time.perf_counter() > deadline or self._signals.received is not None,
                            self.dist, self.device):
                if self.stop_reason is None and self._signals.received is None:
                    self.stop_reason = "callback" if self.should_stop else "time budget"
                break
            batch, iterator = self._next_batch(batches, iterator)
            if batch is None:
                break
            record = self.train_step(batch)
            if record is None:
                continue
            items = self.count_tokens(batch) if self.count_tokens else len(next(iter(batch.values())))
            record["elapsed_s"] = self.elapsed_s
            if self.run_log:
                self.run_log.step(record | {"tokens" if self.count_tokens else "examples": items})
            window["loss"] += record["loss"]
            window["steps"] += 1
            window["items"] += items
            bar.update(1)
            if deadline < math.inf:
                self._project_bar(bar, deadline)
            if self.step % cfg.log_every == 0:
                self._log_point(record, window, bar)
            if evaluate is not None and self.step % cfg.eval_every == 0 and self.dist.is_main:
                metrics = self.evaluate(evaluate)
                bar.write(f"step {self.step}: " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
                if cfg.checkpoint_every is None:
                    self.save_checkpoint()
            if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                self.save_checkpoint()
        bar.close()
        if self._signals.received is not None:
            where = self.save_checkpoint()
            name = signal.Signals(self._signals.received).name
            raise TrainingStopped(f"{name} at step {self.step}: " + (
                f"checkpoint saved to {where}; continue with --resume" if where else "no checkpoint_dir, not saved"),
                signal=self._signals.received)
        self.stop_reason = self.stop_reason or ("steps" if self.step >= cfg.steps else "data ran out")
        if self.stop_reason == "time budget":
            self._announce(f"stopped by the time budget (train.max_minutes={cfg.max_minutes:g}) at step {self.step} "
                           f"of {cfg.steps}, before the planned steps ran out")
        if evaluate is not None and self.last_eval_step != self.step and self.dist.is_main:
            self.evaluate(evaluate)
        self.save_checkpoint()
        self._restore_best()

    def _project_bar(self, bar: tqdm, deadline: float) -> None:
        """With a time budget, the bar's end (and so its ETA) is the step the budget will reach, if sooner."""
        trained = time.perf_counter() - self._started
        done = self.step - self._first_step
        if done >= 5:
            reachable = self.step + int(max(deadline - time.perf_counter(), 0) * done / trained)
            total = min(self.config.steps, max(reachable, self.step))
            if total != bar.total and not bar.disable:
                bar.total = total
                bar.refresh()

    def _announce(self, message: str) -> None:
        """A one-line notice for the user: beside the progress bar, or in the log when there is none."""
        if not self.dist.is_main:
            return
        if self.progress:
            tqdm.write(message, file=sys.stderr)
        else:
            log.info(message)

    def _log_point(self, record: dict, window: dict, bar: tqdm) -> None:
        now = time.perf_counter()
        unit = "tokens_per_s" if self.count_tokens else "examples_per_s"
        point = {"step": self.step, "loss": window["loss"] / window["steps"], "lr": record["lr"],
                 "grad_norm": record["grad_norm"], "elapsed_s": record["elapsed_s"],
                 unit: round(window["items"] / max(now - window["since"], 1e-9), 1)}
        self.history.append(point)
        if self.run_log:
            self.run_log.summary(point)
        bar.set_postfix(loss=f"{point['loss']:.4f}", lr=f"{point['lr']:.2e}",
                        **{unit.removesuffix("_per_s") + "/s": f"{point[unit]:,.0f}"})
        for cb in self.callbacks:
            cb.on_log(self, point)
        window.update(loss=0.0, steps=0, items=0, since=now)
