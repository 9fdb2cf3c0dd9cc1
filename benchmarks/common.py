"""What the benchmarks share: where the data are, the reference weight copies, and the agreement checks.

Every benchmark checks, before it times anything, that ours and the reference compute the same thing (the
same logits, the same tokens cached and uncached, the same predictions); a disagreement raises
``BenchmarkMismatch`` and ``run.py`` exits non-zero, so ``python benchmarks/run.py --quick`` is a CI check.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
# the datasets: $SEQLAB_DATA_DIR, else shared/data beside the repository (how the runs and CI lay them out)
DATA_DIR = Path(os.environ.get("SEQLAB_DATA_DIR") or REPO.parent / "shared" / "data")

if str(REPO) not in sys.path:  # tests.reference: the weight copies the parity tests use, one copy of them
    sys.path.insert(0, str(REPO))


class BenchmarkMismatch(AssertionError):
    """Ours and the reference disagree: the timings would compare different computations."""


def check(ok: bool, message: str) -> None:
    """An agreement check that ``python -O`` cannot strip."""
    if not ok:
        raise BenchmarkMismatch(message)


def check_close(ours: torch.Tensor, reference: torch.Tensor, what: str, *, tol: float) -> float:
    """max |ours - reference| <= tol * (1 + max |reference|); returns the largest difference, for the report."""
    diff = (ours.double() - reference.double()).abs().max().item()
    check(diff <= tol * (1 + reference.abs().max().item()), f"{what}: max difference {diff:.3g} > tolerance {tol}")
    return diff


@contextlib.contextmanager
def mha_fastpath(enabled: bool) -> Iterator[None]:
    """nn.Transformer's fused inference path rejects bf16 autocast: switch it off there, back on after."""
    torch.backends.mha.set_fastpath_enabled(enabled)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(True)
