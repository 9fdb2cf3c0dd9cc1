import json

import pytest
import torch
from torch import nn

from seqlab.training import EarlyStopping, TrainConfig, Trainer
from seqlab.training import trainer as trainer_module


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
    cfg = TrainConfig(steps=300, lr=0.05, warmup_steps=10, log_every=50, eval_every=100, schedule="constant",
                      precision="fp32")
    model = Regression()
    trainer = Trainer(model, cfg, checkpoint_dir=tmp_path, progress=False)
    history = trainer.fit(batches(), evaluate=lambda m: {"bias": m.linear.bias.item()})
    losses = [r["loss"] for r in history if "loss" in r]
    assert losses[-1] < 1e-3 < losses[0]
    assert model.linear.bias.item() == pytest.approx(0.7, abs=0.02)
    assert [r["step"] for r in history if "eval_bias" in r] == [100, 200, 300]
    state = json.loads((tmp_path / "trainer_state.json").read_text())
    assert state["step"] == 300 and (tmp_path / "model.safetensors").is_file()
    assert not list(tmp_path.glob(".*tmp"))  # atomic writes leave no temporaries


def test_early_stopping_and_time_budget():
    cfg = TrainConfig(steps=10_000, eval_every=5, log_every=5, precision="fp32")
    trainer = Trainer(Regression(), cfg, callbacks=[EarlyStopping("score", 1.0, patience=2)], progress=False)
    trainer.fit(batches(), evaluate=lambda m: {"score": 1.0})
    assert trainer.step == 10
    budget = Trainer(Regression(), TrainConfig(steps=10**9, max_minutes=1e-3, precision="fp32"), progress=False)
    budget.fit(batches())
    assert 0 < budget.step < 10**9


def test_gradient_clipping_bounds_the_update():
    model = Regression()
    cfg = TrainConfig(steps=1, lr=1.0, warmup_steps=1, clip_grad_norm=0.01, schedule="constant",
                      betas=(0.0, 0.0), eps=1.0, precision="fp32")  # sgd-like step: update = lr * g / (|g| + 1)
    before = [p.detach().clone() for p in model.parameters()]
    Trainer(model, cfg, progress=False).fit(batches())
    moved = torch.cat([(p.detach() - b).flatten() for p, b in zip(model.parameters(), before, strict=True)])
    assert moved.norm() <= 0.0101


def test_auto_precision_avoids_emulated_bf16(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(trainer_module, "native_bf16", lambda device: False)
    assert trainer_module.resolve_precision("auto", cpu) == "fp32"
    monkeypatch.setattr(trainer_module, "native_bf16", lambda device: True)
    assert trainer_module.resolve_precision("auto", cpu) == "bf16"
    assert trainer_module.resolve_precision("fp32", cpu) == "fp32"


def test_bf16_autocast_step_runs():
    cfg = TrainConfig(steps=2, precision="bf16", log_every=1)
    trainer = Trainer(Regression(), cfg, progress=False)
    history = trainer.fit(batches())
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in history)


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
