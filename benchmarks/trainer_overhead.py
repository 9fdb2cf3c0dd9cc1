"""What the Trainer costs per step, and what bf16 autocast buys (or costs) on this machine.

1. Overhead: a tiny Transformer trained through ``Trainer.fit`` vs a bare hand-written loop doing the same
   work (AdamW with the Trainer's parameter groups, the same LambdaLR schedule, forward ``model.loss``,
   backward, ``clip_grad_norm_``, ``optimizer.step()``, ``scheduler.step()``, ``zero_grad``, ``loss.item()``),
   on the same pre-built batches, from the same initial weights, fp32 on the CPU. The Trainer runs two ways:
   quiet (``progress=False``, no ``log_dir``) and with its CSV log (``log_dir`` set: one row per step;
   TensorBoard off). Only the steps after a warm-up are timed; what ``fit`` spends after the last step (closing
   the logs) is reported apart. Measured two ways:

   - blocks: whole runs of each variant, interleaved in rounds with their order rotated; each variant's best
     round (steps/s) and its median step time over all rounds are reported;
   - lock-step: the bare loop runs on its own copy of the model inside the Trainer's batch iterator, one
     bare step before each Trainer step, so both see the same machine from one moment to the next; the
     overhead is the ratio of their summed step times (median over rounds). On a noisy machine, where the
     speed drifts by 10-30% within seconds, this pairing is what resolves a few percent. The two copies
     must end with the same weights (to 1e-5): the Trainer does the bare loop's arithmetic, nothing else.

2. bf16 vs fp32: training tokens/s of a 6+6-layer Transformer through the Trainer's ``precision`` option.
   A CPU without native bf16 (AVX2 only) emulates bf16 matmuls, many times slower than fp32; there only a
   couple of bf16 steps are timed. On a CUDA device, when there is one, both precisions run there too.
"""

from __future__ import annotations

import copy
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from itertools import pairwise

import torch
from common import check_close
from torch import nn

from seqlab.models import Transformer, TransformerConfig
from seqlab.training.config import OptimConfig, TrainConfig
from seqlab.training.schedules import build_schedule
from seqlab.training.trainer import Callback, Trainer, build_optimizer, native_bf16

Batch = dict[str, torch.Tensor]
VARIANTS = ("bare", "trainer", "trainer_csv")
LABELS = {"trainer": "Trainer quiet", "trainer_csv": "Trainer + CSV log"}
LOG_EVERY = 25  # the Trainer's default; the clock stops at the log point of the last step


def _batches(cfg: TransformerConfig, n: int, batch: int, src_len: int, tgt_len: int, seed: int,
             device: torch.device | str = "cpu") -> list[Batch]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        src = torch.randint(4, cfg.src_vocab_size, (batch, src_len), generator=g)
        tgt = torch.randint(4, cfg.tgt_vocab_size, (batch, tgt_len + 1), generator=g)
        src[: batch // 4, src_len * 3 // 4 :] = cfg.pad_id  # some padding, as in real batches
        tgt[:, 0] = cfg.bos_id
        out.append({"src": src.to(device), "tgt": tgt.to(device)})
    return out


def _tokens(batch: Batch) -> int:
    """Source tokens plus predicted target tokens (the target holds a leading <bos>)."""
    return batch["src"].numel() + batch["tgt"].numel() - batch["tgt"].size(0)


def _sync(device: torch.device) -> Callable[[], None]:
    return torch.cuda.synchronize if device.type == "cuda" else (lambda: None)


class _BareLoop:
    """The work of Trainer.train_step (fp32, one process, no accumulation), written out by hand."""

    def __init__(self, model: nn.Module, total_steps: int):
        optim = OptimConfig()
        self.model, self.clip = model, TrainConfig().clip_grad_norm
        self.optimizer = build_optimizer(model, optim)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, build_schedule(
            optim.schedule, optim.warmup_steps, total_steps, optim.min_lr_ratio))
        self.losses: list[float] = []
        model.train()

    def step(self, batch: Batch) -> None:
        loss = self.model.loss(**batch)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.losses.append(loss.item())  # a real loop logs its loss


class _TimedBatches:
    """The batches, re-iterable like a list, timing what happens between fetches from batch ``start_at`` on
    (the warm-up done). With a bare loop, runs its step on each batch before handing the batch out."""

    def __init__(self, batches: list[Batch], start_at: int, sync: Callable[[], None], bare: _BareLoop | None):
        self.batches, self.start_at, self.sync, self.bare = batches, start_at, sync, bare
        self.fetched: list[float] = []  # asked for batch i
        self.handed: list[float] = []  # handed batch i out (after the bare step, if any)

    def __iter__(self) -> Iterator[Batch]:
        for i, batch in enumerate(self.batches):
            if i == self.start_at and not self.fetched:
                self.sync()
            timed = i >= self.start_at and len(self.fetched) < len(self.batches) - self.start_at
            if timed:
                self.fetched.append(time.perf_counter())
            if self.bare is not None:
                self.bare.step(batch)
            if timed:
                self.handed.append(time.perf_counter())
            yield batch


class _StopClock(Callback):
    """Stops the clock at the log point of the last step (on_log runs right after that step)."""

    def __init__(self, last_step: int, sync: Callable[[], None]):
        self.last_step, self.sync = last_step, sync
        self.end: float | None = None

    def on_log(self, trainer: Trainer, record: dict) -> None:
        if trainer.step == self.last_step:
            self.sync()
            self.end = time.perf_counter()


def _time_trainer(model: nn.Module, batches: list[Batch], warmup: int, steps: int, *, precision: str = "fp32",
                  device: torch.device | None = None, log_dir: str | None = None, log_every: int = LOG_EVERY,
                  lock_step_with: nn.Module | None = None) -> dict:
    """Trainer step times over ``steps`` steps after ``warmup`` ones (and, in lock-step, the bare loop's)."""
    device = device or torch.device("cpu")
    total = warmup + steps
    assert total % log_every == 0 and len(batches) >= total, "the clock stops at a log point, on fresh batches"
    sync = _sync(device)
    bare = _BareLoop(lock_step_with, total) if lock_step_with is not None else None
    timed = _TimedBatches(batches[:total], warmup, sync, bare)
    clock = _StopClock(total, sync)
    trainer = Trainer(model, TrainConfig(steps=total, batch_size=len(batches[0]["src"]), precision=precision,
                                         device=str(device), log_every=log_every, eval_every=10**9),
                      OptimConfig(), callbacks=[clock], log_dir=log_dir, tensorboard=False, progress=False)
    trainer.fit(timed)
    returned = time.perf_counter()
    assert len(timed.handed) == steps and clock.end is not None and trainer.step == total
    step_s = [nxt - handed for handed, nxt in zip(timed.handed, [*timed.fetched[1:], clock.end], strict=True)]
    run = {"seconds": sum(step_s), "step_s": step_s, "after_last_step_s": returned - clock.end}
    if bare is not None:
        run["bare_step_s"] = [h - f for f, h in zip(timed.fetched, timed.handed, strict=True)]
    return run


def _time_bare(model: nn.Module, batches: list[Batch], warmup: int, steps: int) -> dict:
    bare = _BareLoop(model, warmup + steps)
    stamps = []
    for i, batch in enumerate(batches[: warmup + steps]):
        if i >= warmup:
            stamps.append(time.perf_counter())
        bare.step(batch)
    stamps.append(time.perf_counter())
    step_s = [b - a for a, b in pairwise(stamps)]
    return {"seconds": sum(step_s), "step_s": step_s}


def _check_same_weights(trained: nn.Module, bare: nn.Module) -> float:
    """The Trainer and the bare loop, from the same weights on the same batches, reach the same weights."""
    bare_weights = bare.state_dict()
    return max(check_close(w, bare_weights[name], f"{name} after Trainer.fit vs the bare loop", tol=1e-5)
               for name, w in trained.state_dict().items())


def _pct(slow: float, fast: float) -> float:
    return (slow / fast - 1) * 100


def _overhead(quick: bool) -> list[dict]:
    torch.manual_seed(0)
    cfg = TransformerConfig.from_name("tiny", n_heads=2, src_vocab_size=100, tgt_vocab_size=100, max_len=64)
    initial = Transformer.from_config(cfg)
    warmup, steps, rounds, lock_rounds = (25, 25, 2, 1) if quick else (25, 200, 5, 2)
    batch_size, length = 32, 16
    batches = _batches(cfg, warmup + steps, batch_size, length, length, seed=1)
    blocks: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    locked: dict[str, list[dict]] = {v: [] for v in LABELS}
    with tempfile.TemporaryDirectory(prefix="seqlab-bench-") as tmp:
        log_dirs = {"trainer": None, "trainer_csv": tmp}
        for r in range(rounds):
            for variant in VARIANTS[r % 3:] + VARIANTS[: r % 3]:  # rotated, so no variant always goes first
                model = copy.deepcopy(initial)
                blocks[variant].append(_time_bare(model, batches, warmup, steps) if variant == "bare" else
                                       _time_trainer(model, batches, warmup, steps, log_dir=log_dirs[variant]))
        weight_diff = 0.0
        for r in range(lock_rounds):
            for variant in list(LABELS)[r % 2:] + list(LABELS)[: r % 2]:
                model, twin = copy.deepcopy(initial), copy.deepcopy(initial)
                locked[variant].append(_time_trainer(model, batches, warmup, steps, log_dir=log_dirs[variant],
                                                     lock_step_with=twin))
                weight_diff = max(weight_diff, _check_same_weights(model, twin))
    best = {v: max(steps / run["seconds"] for run in blocks[v]) for v in VARIANTS}
    step_ms = {v: statistics.median(t for run in blocks[v] for t in run["step_s"]) * 1e3 for v in VARIANTS}
    setup = {"model": "tiny Transformer (d=64, h=2, ff=128, 1+1 layers, vocab 100, no dropout)",
             "batch": f"{batch_size}x{length} -> {length}", "device": "cpu", "precision": "fp32",
             "threads": torch.get_num_threads(),
             "steps": f"{steps} timed after {warmup} warm-up; {rounds} block rounds, {lock_rounds} lock-step rounds",
             "optimizer": "AdamW (Trainer's groups), inverse_sqrt warmup schedule, clip 1.0",
             "overhead_pct": "(bare steps/s / trainer steps/s - 1) * 100 = (trainer step time / bare step time - 1) "
                             "* 100",
             "check": f"Trainer weights = bare loop weights after {warmup + steps} steps (max diff {weight_diff:.1e})"}
    bare_rates = [steps / run["seconds"] for run in blocks["bare"]]
    spread = (max(bare_rates) / min(bare_rates) - 1) * 100  # the same work, round to round: the noise floor
    rows, notes = [], []
    for variant, label in LABELS.items():
        lock_pct = [_pct(run["seconds"], sum(run["bare_step_s"])) for run in locked[variant]]
        lock_rate = statistics.median(steps / run["seconds"] for run in locked[variant])
        lock_bare = statistics.median(steps / sum(run["bare_step_s"]) for run in locked[variant])
        result = {"overhead_pct_best_block": _pct(best["bare"], best[variant]),
                  "overhead_pct_median_step": _pct(step_ms[variant], step_ms["bare"]),
                  "overhead_pct_lock_step": statistics.median(lock_pct),
                  "overhead_pct_lock_step_rounds": lock_pct,
                  "median_step_ms": step_ms[variant], "bare_median_step_ms": step_ms["bare"],
                  "block_steps_per_s_rounds": [steps / run["seconds"] for run in blocks[variant]],
                  "bare_block_steps_per_s_rounds": bare_rates, "bare_block_spread_pct": spread,
                  "fit_after_last_step_s": statistics.median(run["after_last_step_s"] for run in blocks[variant])}
        rows.append({"benchmark": "trainer", "what": f"{label} vs bare: steps/s, best of {rounds} blocks",
                     "precision": "fp32", "ours": best[variant], "reference": best["bare"],
                     "ratio": best[variant] / best["bare"]})
        rows.append({"benchmark": "trainer", "what": f"{label} vs bare: steps/s, lock-step pairs",
                     "precision": "fp32", "ours": lock_rate, "reference": lock_bare, "ratio": lock_rate / lock_bare})
        notes.append({"benchmark": "trainer", "what": f"  overhead, {label} (goal <= 5%)", "precision": "fp32",
                      "note": f"{result['overhead_pct_lock_step']:+.1f}% lock-step; "
                              f"{result['overhead_pct_best_block']:+.1f}% best block (bare blocks spread "
                              f"{spread:.0f}%); "
                              f"{result['overhead_pct_median_step']:+.1f}% median block step "
                              f"({step_ms[variant]:.2f} vs {step_ms['bare']:.2f} ms); "
                              f"fit() after last step {result['fit_after_last_step_s']:.2f} s", **result})
    for row in rows + notes:
        row["setup"] = setup
    return rows + notes


def _bf16_vs_fp32(quick: bool, device: torch.device) -> list[dict]:
    torch.manual_seed(0)
    layers, batch_size, length = (2, 8, 16) if quick else (6, 32, 32)
    cfg = TransformerConfig.from_name("small", n_encoder_layers=layers, n_decoder_layers=layers,
                                      src_vocab_size=8000, tgt_vocab_size=8000, max_len=256)
    initial = Transformer.from_config(cfg)
    native = native_bf16(device)
    capability = torch.backends.cpu.get_cpu_capability() if device.type == "cpu" else torch.cuda.get_device_name()
    fast = device.type == "cuda"
    timed = (5, 30) if fast else (2, 2 if quick else 12)  # (warm-up, timed) steps
    plans = {"fp32": timed, "bf16": timed if native else (1, 1 if quick else 2)}  # emulated bf16: a glimpse
    rates, plan_text = {}, {}
    for precision, (warmup, steps) in plans.items():
        batches = _batches(cfg, warmup + steps, batch_size, length, length, seed=2, device=device)
        run = _time_trainer(copy.deepcopy(initial), batches, warmup, steps, precision=precision, device=device,
                            log_every=warmup + steps)
        rates[precision] = sum(_tokens(b) for b in batches[warmup:]) / run["seconds"]
        plan_text[precision] = f"{steps} timed after {warmup} warm-up"
    ratio = rates["bf16"] / rates["fp32"]
    setup = {"model": f"Transformer d=256, h=4, ff=1024, {layers}+{layers} layers, vocab 8000, dropout 0.1",
             "batch": f"{batch_size}x{length} -> {length}", "device": str(device), "steps": plan_text,
             "precision": "Trainer precision='bf16' (torch.autocast bfloat16) vs 'fp32'"}
    info = {"native_bf16": native, "capability": capability, "setup": setup}
    rows = [{"benchmark": "trainer", "what": f"{layers}+{layers}L train tokens/s, bf16 vs fp32 ({device.type})",
             "precision": "bf16", "ours": rates["bf16"], "reference": rates["fp32"], "ratio": ratio, **info}]
    rows.append({"benchmark": "trainer", "what": f"  bf16 on {device.type}: native_bf16={native} ({capability})",
                 "precision": "bf16", **info,
                 "note": f"bf16/fp32 throughput {ratio:.3f}" + ("" if native else
                         f": bf16 is emulated here, {1 / ratio:.0f}x slower ({plans['bf16'][1]} steps timed); "
                         "precision=auto picks fp32")})
    return rows


def run(quick: bool = False, force_bf16: bool = False) -> list[dict]:
    """``force_bf16`` is accepted for the runner; bf16 is always timed here (only briefly where emulated)."""
    rows = _overhead(quick)
    rows += _bf16_vs_fp32(quick, torch.device("cpu"))
    if torch.cuda.is_available():
        rows += _bf16_vs_fp32(quick, torch.device("cuda"))
    return rows
