import os
from pathlib import Path

# One thread per test process (and its subprocesses): the tests' tensors are tiny, and on a 2-core machine
# with anything else running, two OpenMP threads wait a scheduler slice at every small op (8 ms a matmul).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest
import torch

# Real datasets: $SEQLAB_DATA_DIR, else ../shared/data beside the repository (as in CI).
DATA_DIR = Path(os.environ.get("SEQLAB_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real-data directory; tests that need it skip with the reason when it is absent."""
    if not (DATA_DIR / "MANIFEST.md").is_file():
        pytest.skip(f"real datasets not found at {DATA_DIR} (set SEQLAB_DATA_DIR to ../shared/data)")
    return DATA_DIR


TINY_DATES = ["--model.d_model=32", "--model.d_ff=64", "--model.n_encoder_layers=1", "--model.n_decoder_layers=1",
              "--train.steps=20", "--train.eval_every=10", "--data.n_dev=20", "--data.n_test=50", "--quiet"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A tiny trained date-normalisation run, one per test module (tests may add to it)."""
    from seqlab.cli import main

    out = tmp_path_factory.mktemp("runs") / "dates"
    assert main(["train", "configs/dates_transformer.yaml", "--out", str(out), *TINY_DATES]) == 0
    return out
