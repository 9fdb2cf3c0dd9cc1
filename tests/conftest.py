import os
from pathlib import Path

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
