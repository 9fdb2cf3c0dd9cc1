"""Nothing lost: a run killed with SIGKILL and resumed ends with the same weights, to the bit."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seqlab.training.checkpoint import read_checkpoint

ROOT = Path(__file__).resolve().parents[1]
JOB = ROOT / "tests" / "scripts" / "train_job.py"


def run_job(out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(JOB), str(out), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=True)


def start_and_kill_when(command: list[str], ready, timeout: float = 120) -> None:
    """Start ``command``, SIGKILL it as soon as ``ready()`` is true, and check that it was killed (not done)."""
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read().decode()}"
            assert time.monotonic() < deadline, "the run never reached the point to kill it"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def test_sigkill_mid_epoch_then_resume_is_bit_exact(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    run_job(whole)
    # 96 examples / 12 = 8 batches an epoch: step 13 is mid-epoch 2, after the checkpoint of step 12
    start_and_kill_when([sys.executable, str(JOB), str(killed), "--hang-at", "13"],
                        lambda: (killed / "hanging").exists())
    _, state = read_checkpoint(killed / "checkpoint.safetensors")
    assert (state["step"], state["epoch"], state["batch_in_epoch"]) == (12, 1, 4)
    assert not (killed / "final.safetensors").exists()
    run_job(killed, "--resume")
    assert (killed / "final.safetensors").read_bytes() == (whole / "final.safetensors").read_bytes()
    # the logs are those of one run: rows the killed run wrote after its checkpoint are not doubled
    assert (killed / "train_log.csv").read_text().count("\n") == 31  # header + 30 steps
    assert [r["eval_loss"] for r in state["history"] if "eval_loss" in r] == [
        r["eval_loss"] for r in json.loads(json.dumps(read_checkpoint(whole / "checkpoint.safetensors")[1]["history"]))
        if "eval_loss" in r and r["step"] <= 12]


def _checkpoint_step(path: Path) -> int:
    try:
        return read_checkpoint(path)[1]["step"]
    except Exception:  # not written yet
        return -1


TINY = ["--model.d_model=32", "--model.d_ff=64", "--model.n_encoder_layers=1", "--model.n_decoder_layers=1",
        "--train.batch_size=16", "--train.eval_every=25", "--train.checkpoint_every=5", "--data.n_dev=20",
        "--data.n_test=50", "--quiet"]


def test_cli_train_resume_after_sigkill(tmp_path):
    """`seqlab train ... --resume` on the demo's recipe, killed from outside while it trains."""
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    train = [sys.executable, "-m", "seqlab", "train", "configs/dates_transformer.yaml"]
    steps = ["--train.steps=400"]
    subprocess.run([*train, "--out", str(whole), *TINY, *steps], cwd=ROOT, check=True, capture_output=True,
                   timeout=300)
    start_and_kill_when([*train, "--out", str(killed), *TINY, *steps],
                        lambda: _checkpoint_step(killed / "checkpoints" / "checkpoint.safetensors") >= 10)
    assert not (killed / "metrics.json").exists()
    resumed = subprocess.run([*train, "--out", str(killed), *TINY, *steps, "--resume"], cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert (killed / "model.safetensors").read_bytes() == (whole / "model.safetensors").read_bytes()
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (whole, killed))
    assert a["exact_match"] == b["exact_match"] and a["steps"] == b["steps"] == 400


def test_resume_refuses_a_different_run(tmp_path, capsys):
    from seqlab.cli import main

    out = tmp_path / "run"
    assert main(["train", "configs/dates_transformer.yaml", "--out", str(out), *TINY, "--train.steps=5"]) == 0
    capsys.readouterr()
    assert main(["train", "configs/dates_transformer.yaml", "--out", str(out), *TINY, "--train.steps=5",
                 "--optim.lr=0.1", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "'optim.lr' is 0.1 but the run" in err and len(err.strip().splitlines()) == 1
    assert main(["train", "configs/dates_transformer.yaml", "--out", str(tmp_path / "none"), *TINY,
                 "--resume"]) == 2
    assert "nothing to resume" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [[], ["--train.steps=10"]])
def test_resume_of_a_finished_run_continues_or_is_done(tmp_path, extra):
    from seqlab.cli import main

    out = tmp_path / "run"
    assert main(["train", "configs/dates_transformer.yaml", "--out", str(out), *TINY, "--train.steps=5"]) == 0
    assert main(["train", "configs/dates_transformer.yaml", "--out", str(out), *TINY, "--train.steps=5", *extra,
                 "--resume"]) == 0
    assert json.loads((out / "metrics.json").read_text())["steps"] == (10 if extra else 5)
