"""Two processes under torchrun (gloo, CPU) train as one process does at the same global batch."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from seqlab.training.distributed import DistContext, shard, split_batch

ROOT = Path(__file__).resolve().parents[1]
JOB = ROOT / "tests" / "scripts" / "train_job.py"


def _losses(run: Path) -> list[float]:
    with (run / "train_log.csv").open() as f:
        return [float(r["loss"]) for r in csv.DictReader(f)]


@pytest.mark.parametrize("accum", ["1", "2"])
def test_two_gloo_processes_match_one_process(tmp_path, accum):
    single, double = tmp_path / "single", tmp_path / "double"
    args = ["--steps", "6", "--accum", accum, "--batch", "12", "--dropout", "0"]
    subprocess.run([sys.executable, str(JOB), str(single), *args], cwd=ROOT, check=True, capture_output=True,
                   timeout=300)
    launched = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                               str(JOB), str(double), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert launched.returncode == 0, launched.stderr[-2000:]
    a, b = load_file(single / "final.safetensors"), load_file(double / "final.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert not torch.equal(a[name], torch.zeros_like(a[name]))
        torch.testing.assert_close(b[name], a[name], rtol=1e-5, atol=1e-6)
    # rank 0 logs the loss of the whole global batch, as the single process does
    assert _losses(double) == pytest.approx(_losses(single), rel=1e-5)


def test_split_batch_weights_add_up_and_shards_cover_the_batch():
    batch = {"x": torch.arange(10).view(5, 2), "y": torch.arange(5)}
    parts = split_batch(batch, 2)
    assert [w for _, w in parts] == [0.6, 0.4]
    assert torch.equal(torch.cat([p["y"] for p, _ in parts]), batch["y"])
    mine, share = shard(batch, DistContext(rank=1, world_size=2))
    assert torch.equal(mine["y"], torch.tensor([3, 4])) and share == 0.4
    with pytest.raises(Exception, match="cannot be split into 8"):
        split_batch(batch, 8)
