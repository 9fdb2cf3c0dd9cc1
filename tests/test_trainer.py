from pathlib import Path

import pytest
import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.training import (
    Callback,
    EarlyStoppingConfig,
    OptimConfig,
    StopAtTarget,
    TrainConfig,
    Trainer,
    TrainingStopped,
    load_weights,
)
from seqlab.training import trainer as trainer_module
from seqlab.training.checkpoint import read_checkpoint


class Regression(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 1)

    def loss(self, x, y):
        return nn.functional.mse_loss(self.linear(x).squeeze(-1), y)


def batches():
    w = torch.tensor([1.0, -2.0, 0.5, 3.0])
    while True:
        x = torch.randn(32, 4)
        yield {"x": x, "y": x @ w + 0.7}


def test_trainer_fits_and_records_history(tmp_path):
    cfg = TrainConfig(steps=300, log_every=50, eval_every=100, precision="fp32")
    model = Regression()
    trainer = Trainer(model, cfg, OptimConfig(lr=0.05, warmup_steps=10, schedule="constant"),
                      checkpoint_dir=tmp_path, progress=False)
    history = trainer.fit(batches(), evaluate=lambda m: {"bias": m.linear.bias.item()})
    losses = [r["loss"] for r in history if "loss" in r]
    assert losses[-1] < 1e-3 < losses[0]
    assert model.linear.bias.item() == pytest.approx(0.7, abs=0.02)
    assert [r["step"] for r in history if "eval_bias" in r] == [100, 200, 300]
    _, state = read_checkpoint(tmp_path / "checkpoint.safetensors")
    assert state["step"] == 300 and state["history"] == history
    assert not list(tmp_path.glob(".*tmp"))  # atomic writes leave no temporaries


def test_stop_at_target_needs_patience_evaluations_in_a_row():
    cfg = TrainConfig(steps=10_000, eval_every=5, log_every=5, precision="fp32")
    trainer = Trainer(Regression(), cfg, callbacks=[StopAtTarget("score", 1.0, patience=2)], progress=False)
    trainer.fit(batches(), evaluate=lambda m: {"score": 1.0})
    assert trainer.step == 10
    scores = iter([1.0, 0.5, 1.0, 2.0, 0.0])  # the miss at step 10 restarts the count
    trainer = Trainer(Regression(), cfg, callbacks=[StopAtTarget("score", 1.0, patience=2)], progress=False)
    trainer.fit(batches(), evaluate=lambda m: {"score": next(scores)})
    assert trainer.step == 20


class Clock:
    """A stand-in for the trainer's ``time`` module whose perf_counter only moves when told to."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now


def test_time_budget_stops_the_run(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(trainer_module, "time", clock)

    def one_second_per_batch():
        for batch in batches():
            clock.now += 1.0
            yield batch

    budget = Trainer(Regression(), TrainConfig(steps=1000, max_minutes=0.1, precision="fp32"), progress=False)
    budget.fit(one_second_per_batch())
    # a step starts while the clock is within the 6 s budget: at 0, 1, ..., 6 s; the one at 7 s does not
    assert budget.step == 7 and budget.elapsed_s == 7.0


def test_gradient_clipping_bounds_the_update():
    model = Regression()
    cfg = TrainConfig(steps=1, clip_grad_norm=0.01, precision="fp32")
    optim = OptimConfig(lr=1.0, warmup_steps=1, schedule="constant", betas=(0.0, 0.0), eps=1.0)
    before = [p.detach().clone() for p in model.parameters()]  # sgd-like step: update = lr * g / (|g| + 1)
    Trainer(model, cfg, optim, progress=False).fit(batches())
    moved = torch.cat([(p.detach() - b).flatten() for p, b in zip(model.parameters(), before, strict=True)])
    assert moved.norm() <= 0.0101


def test_auto_precision_avoids_emulated_bf16(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(trainer_module, "native_bf16", lambda device: False)
    assert trainer_module.resolve_precision("auto", cpu) == "fp32"
    monkeypatch.setattr(trainer_module, "native_bf16", lambda device: True)
    assert trainer_module.resolve_precision("auto", cpu) == "bf16"
    assert trainer_module.resolve_precision("fp32", cpu) == "fp32"


def test_bf16_autocast_follows_the_fp32_loss_trajectory():
    def losses(precision):
        torch.manual_seed(0)
        cfg = TrainConfig(steps=30, precision=precision, log_every=1, device="cpu", clip_grad_norm=None)
        trainer = Trainer(Regression(), cfg, OptimConfig(lr=0.1, warmup_steps=1, schedule="constant"),
                          progress=False)
        return torch.tensor([r["loss"] for r in trainer.fit(fixed_batches(6)) if "loss" in r])

    fp32, bf16 = losses("fp32"), losses("bf16")
    assert len(bf16) == len(fp32) == 30 and fp32[-1] < 0.2 * fp32[0]  # it learns
    torch.testing.assert_close(bf16, fp32, rtol=0.04, atol=0.01)  # 30 steps apart, within 2% (bf16: 8 bits)
    assert not torch.equal(bf16, fp32)  # autocast did run in bf16


def test_bad_precision_is_rejected():
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="fp8")


def test_finite_data_is_iterated_in_epochs():
    data = [batch for batch, _ in zip(batches(), range(3), strict=False)]
    trainer = Trainer(Regression(), TrainConfig(steps=7, precision="fp32"), progress=False)
    trainer.fit(data)
    assert trainer.step == 7
    with pytest.raises(ValueError, match="no batch"):
        Trainer(Regression(), TrainConfig(steps=2, precision="fp32"), progress=False).fit([])


def test_atomic_writes_follow_the_umask(tmp_path):
    import os

    from seqlab.io import write_json

    old = os.umask(0o022)
    try:
        write_json(tmp_path / "m.json", {"a": 1})
    finally:
        os.umask(old)
    assert (tmp_path / "m.json").stat().st_mode & 0o777 == 0o644


# ---- issue 5: optimisers, accumulation, non-finite losses, early stopping, logs, signals, safe loading --------

class Crash(Exception):
    pass


class CrashAt(Callback):
    def __init__(self, step):
        self.step = step

    def on_log(self, trainer, record):
        if trainer.step == self.step:
            raise Crash


def fixed_batches(n=6, size=12, seed=3):
    g = torch.Generator().manual_seed(seed)
    w = torch.tensor([1.0, -2.0, 0.5, 3.0])
    out = []
    for _ in range(n):
        x = torch.randn(size, 4, generator=g)
        out.append({"x": x, "y": x @ w + 0.7})
    return out


def test_gradient_accumulation_gives_the_same_steps():
    def run(accum):
        torch.manual_seed(0)
        model = Regression()
        cfg = TrainConfig(steps=8, batch_size=12, grad_accum_steps=accum, precision="fp32", clip_grad_norm=None)
        Trainer(model, cfg, OptimConfig(lr=0.05, warmup_steps=1, schedule="constant"), progress=False).fit(
            fixed_batches())
        return model.linear.weight.detach().clone()

    # micro-batches of 12/5 examples are uneven (3,3,2,2,2): each loss is weighted by its share
    torch.testing.assert_close(run(5), run(1), rtol=1e-5, atol=1e-6)


def test_sgd_with_momentum_is_torch_sgd():
    torch.manual_seed(0)
    model, reference = Regression(), Regression()
    reference.load_state_dict(model.state_dict())
    cfg = TrainConfig(steps=6, precision="fp32", clip_grad_norm=None)
    optim = OptimConfig(name="sgd", lr=0.1, momentum=0.9, nesterov=True, warmup_steps=0, schedule="constant")
    data = fixed_batches()
    Trainer(model, cfg, optim, progress=False).fit(data)
    sgd = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    for batch in data:
        sgd.zero_grad()
        reference.loss(**batch).backward()
        sgd.step()
    torch.testing.assert_close(model.linear.weight, reference.linear.weight)


def test_in_process_resume_restores_sgd_momentum_and_schedule(tmp_path):
    def trainer(out, callbacks=()):
        torch.manual_seed(0)
        cfg = TrainConfig(steps=14, precision="fp32", checkpoint_every=4, log_every=1)
        return Trainer(Regression(), cfg, OptimConfig(name="sgd", lr=0.05, warmup_steps=3, schedule="cosine"),
                       checkpoint_dir=out, callbacks=callbacks, progress=False)

    whole = trainer(tmp_path / "a")
    whole.fit(fixed_batches(5))
    crashed = trainer(tmp_path / "b", [CrashAt(10)])
    with pytest.raises(Crash):
        crashed.fit(fixed_batches(5))
    resumed = trainer(tmp_path / "b")
    resumed.fit(fixed_batches(5), resume=True)
    assert resumed.step == 14 and resumed.epoch == whole.epoch == 2
    assert torch.equal(resumed.model.linear.weight, whole.model.linear.weight)
    assert resumed.scheduler.get_last_lr() == whole.scheduler.get_last_lr()


class Poisonable(Regression):
    def loss(self, x, y):
        loss = super().loss(x, y)
        return loss * torch.nan if bool((y == 1e6).any()) else loss


def poisoned(at):
    data = fixed_batches(8)
    for i in at:
        data[i]["y"] = data[i]["y"].clone()
        data[i]["y"][0] = 1e6
    return data


def test_nonfinite_loss_skips_the_step():
    torch.manual_seed(0)
    model = Poisonable()
    trainer = Trainer(model, TrainConfig(steps=7, precision="fp32"), progress=False)
    trainer.fit(poisoned([2]))  # 8 batches, one poisoned: 7 good steps
    skipped = [r for r in trainer.history if "skipped" in r]
    assert len(skipped) == 1 and skipped[0]["step"] == 2 and "nan" in skipped[0]["skipped"]
    assert trainer.step == 7 and all(torch.isfinite(p).all() for p in model.parameters())


def test_nonfinite_loss_stops_with_the_last_good_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = Poisonable()
    trainer = Trainer(model, TrainConfig(steps=7, precision="fp32", on_nonfinite="stop"), checkpoint_dir=tmp_path,
                      progress=False)
    with pytest.raises(TrainingStopped, match=r"step 3: loss nan .*on_nonfinite=stop.*step 2\) is in .*checkpoint"):
        trainer.fit(poisoned([2]))
    _, state = read_checkpoint(tmp_path / "checkpoint.safetensors")
    assert state["step"] == 2
    too_many = Trainer(Poisonable(), TrainConfig(steps=7, precision="fp32", max_nonfinite=3), progress=False)
    with pytest.raises(TrainingStopped, match="in 3 step"):
        too_many.fit(poisoned([1, 2, 3]))


def test_early_stopping_with_patience_restores_the_best_weights():
    torch.manual_seed(0)
    scores = iter([0.5, 0.9, 0.7, 0.8, 0.85, 0.99])
    weights = {}

    def evaluate(m):
        weights[trainer.step] = m.linear.weight.detach().clone()
        return {"acc": next(scores)}

    cfg = TrainConfig(steps=100, eval_every=2, precision="fp32")
    cfg.early_stopping = EarlyStoppingConfig(metric="acc", mode="max", patience=3)
    trainer = Trainer(Regression(), cfg, OptimConfig(lr=0.05, schedule="constant"), progress=False)
    trainer.fit(fixed_batches(), evaluate)
    assert trainer.step == 10 and trainer.best == {"value": 0.9, "step": 4, "bad_evals": 3}
    assert torch.equal(trainer.model.linear.weight, weights[4])
    cfg.early_stopping = EarlyStoppingConfig(metric="missing")
    with pytest.raises(SeqlabError, match="'missing' is not among the evaluation's metrics"):
        Trainer(Regression(), cfg, progress=False).fit(fixed_batches(), lambda m: {"acc": 1.0})


def test_csv_and_tensorboard_logs(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = TrainConfig(steps=6, log_every=2, eval_every=3, precision="fp32")
    Trainer(Regression(), cfg, log_dir=tmp_path, tensorboard=True, progress=False).fit(
        fixed_batches(), lambda m: {"bias": m.linear.bias.item()})
    lines = (tmp_path / "train_log.csv").read_text().splitlines()
    assert lines[0] == "step,epoch,loss,lr,grad_norm,elapsed_s,examples" and len(lines) == 7
    assert (tmp_path / "eval_log.csv").read_text().splitlines()[0] == "step,eval_bias"
    assert not (tmp_path / "learning_curve.png").exists()  # the loop draws no plots (finish_training does)
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert [e.step for e in events.Scalars("train/loss")] == [2, 4, 6]
    assert [e.step for e in events.Scalars("eval/eval_bias")] == [3, 6]


def test_sigterm_saves_a_checkpoint_and_the_run_resumes(tmp_path):
    import os
    import signal

    class Terminate(Callback):
        def on_log(self, trainer, record):
            if trainer.step == 3:
                os.kill(os.getpid(), signal.SIGTERM)

    cfg = TrainConfig(steps=6, log_every=1, precision="fp32")
    stopped = Trainer(Regression(), cfg, checkpoint_dir=tmp_path, callbacks=[Terminate()], progress=False)
    with pytest.raises(TrainingStopped, match=r"SIGTERM at step 3: checkpoint saved.*--resume"):
        stopped.fit(fixed_batches())
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers are put back
    resumed = Trainer(Regression(), cfg, checkpoint_dir=tmp_path, progress=False)
    resumed.fit(fixed_batches(), resume=True)
    assert resumed.step == 6


def test_fp16_needs_cuda_and_its_scaler_path_runs(monkeypatch):
    with pytest.raises(SeqlabError, match="fp16 needs a CUDA device"):
        Trainer(Regression(), TrainConfig(precision="fp16", device="cpu"), progress=False)
    monkeypatch.setattr(trainer_module, "fp16_supported", lambda device: True)  # CPU autocast runs fp16 too
    trainer = Trainer(Regression(), TrainConfig(steps=3, precision="fp16", device="cpu", log_every=1),
                      progress=False)
    assert trainer.scaler.is_enabled()
    trainer.fit(fixed_batches())
    assert trainer.step == 3 and trainer.scaler.get_scale() > 0


def test_a_pickle_is_never_loaded(tmp_path):
    """A malicious pickle where a checkpoint or weights should be: refused, its code never runs."""
    import pickle

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            import os

            return os.system, (f"touch {marker}",)

    for name in ("checkpoint.safetensors", "model.safetensors"):
        (tmp_path / name).write_bytes(pickle.dumps(Payload()))
    torch.save({"x": Payload()}, tmp_path / "model.pt")
    with pytest.raises(SeqlabError, match="not a readable safetensors checkpoint"):
        Trainer(Regression(), TrainConfig(precision="fp32"), checkpoint_dir=tmp_path, progress=False).fit(
            fixed_batches(), resume=True)
    with pytest.raises(SeqlabError, match="not a readable safetensors file"):
        load_weights(Regression(), tmp_path / "model.safetensors")
    assert not marker.exists()


def test_a_save_that_dies_midway_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    from seqlab.training import checkpoint

    model = Regression()
    trainer = Trainer(model, TrainConfig(steps=2, precision="fp32"), checkpoint_dir=tmp_path, progress=False)
    trainer.fit(fixed_batches())
    before = (tmp_path / "checkpoint.safetensors").read_bytes()

    def dies_midway(tensors, path, metadata):
        Path(path).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint, "save_file", dies_midway)
    with pytest.raises(OSError):
        trainer.save_checkpoint()
    assert (tmp_path / "checkpoint.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.safetensors"]


def test_optim_config_is_validated():
    with pytest.raises(ValueError, match="name must be one of adamw, sgd"):
        OptimConfig(name="adam")
    with pytest.raises(ValueError, match="nesterov needs momentum"):
        OptimConfig(name="sgd", momentum=0.0, nesterov=True)
    with pytest.raises(ValueError, match="on_nonfinite"):
        TrainConfig(on_nonfinite="ignore")
    with pytest.raises(ValueError, match="grad_accum_steps"):
        TrainConfig(batch_size=2, grad_accum_steps=4)


def test_finish_training_draws_the_learning_curve(tmp_path):
    import json
    import time

    from seqlab.tasks.common import finish_training

    model = Regression()
    trainer = Trainer(model, TrainConfig(steps=6, log_every=2, eval_every=3, precision="fp32"), log_dir=tmp_path,
                      progress=False)
    history = trainer.fit(fixed_batches(), lambda m: {"bias": m.linear.bias.item()})
    facts = finish_training(trainer, model, history, tmp_path, time.perf_counter())
    assert (tmp_path / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / "history.json").read_text()) == history
    assert facts["steps"] == 6 and facts["parameters"] == 5
