"""Where training metrics go: a CSV file per kind of record, TensorBoard (optional), plain log lines.

``train_log.csv`` gets one row per optimiser step, ``eval_log.csv`` one row per evaluation. On resume
both are cut back to the checkpoint's step, so rows written after it by the killed run are not doubled.
"""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path

from seqlab.io import atomic_write_text

log = logging.getLogger("seqlab.train")


class CSVLog:
    """Append rows of one fixed set of columns (taken from the first row) to ``path``."""

    def __init__(self, path: Path, *, resume_step: int | None = None):
        self.path = path
        self.columns: list[str] | None = None
        self.file = None
        if resume_step is None:
            path.unlink(missing_ok=True)
        elif path.is_file():
            self._truncate_after(resume_step)

    def _truncate_after(self, step: int) -> None:
        with self.path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        if not rows:
            return
        self.columns = list(rows[0])
        kept = [r for r in rows if int(r["step"]) <= step]
        lines = [",".join(self.columns)] + [",".join(r[c] for c in self.columns) for r in kept]
        atomic_write_text(self.path, "\n".join(lines) + "\n")

    def write(self, row: dict) -> None:
        if self.file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fresh = not self.path.is_file()
            self.columns = self.columns or list(row)
            self.file = self.path.open("a", newline="", encoding="utf-8")
            self.writer = csv.DictWriter(self.file, self.columns, extrasaction="ignore", lineterminator="\n")
            if fresh:
                self.writer.writeheader()
        self.writer.writerow({k: _cell(v) for k, v in row.items()})
        self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def _cell(value: object) -> object:
    return f"{value:.6g}" if isinstance(value, float) and math.isfinite(value) else value


class TensorBoardLog:
    """Scalars for TensorBoard, if its package is installed (``pip install seqlab[tensorboard]``)."""

    def __init__(self, log_dir: Path, *, resume_step: int | None = None):
        from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package

        # purge_step drops events after the checkpoint that a killed run had written
        self.writer = SummaryWriter(str(log_dir), purge_step=resume_step + 1 if resume_step else None)

    def write(self, row: dict, prefix: str) -> None:
        for key, value in row.items():
            if key != "step" and isinstance(value, int | float) and not isinstance(value, bool):
                self.writer.add_scalar(f"{prefix}/{key}", value, row["step"])

    def close(self) -> None:
        self.writer.close()


def tensorboard_available() -> bool:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


class RunLog:
    """All of a run's metric sinks, written by rank 0 only."""

    def __init__(self, log_dir: Path | None, *, tensorboard: bool | None = None, resume_step: int | None = None):
        self.train_csv = self.eval_csv = self.tensorboard = None
        if log_dir is None:
            return
        self.train_csv = CSVLog(log_dir / "train_log.csv", resume_step=resume_step)
        self.eval_csv = CSVLog(log_dir / "eval_log.csv", resume_step=resume_step)
        if tensorboard is None:
            tensorboard = tensorboard_available()
        if tensorboard:
            self.tensorboard = TensorBoardLog(log_dir / "tensorboard", resume_step=resume_step)

    def step(self, row: dict) -> None:
        """Every optimiser step, to the CSV file."""
        if self.train_csv:
            self.train_csv.write(row)

    def summary(self, row: dict) -> None:
        """Every log_every steps (averages), to TensorBoard and the log."""
        if self.tensorboard:
            self.tensorboard.write(row, "train")
        log.info("step %d: %s", row["step"], ", ".join(f"{k}={_cell(v)}" for k, v in row.items() if k != "step"))

    def evaluation(self, row: dict) -> None:
        if self.eval_csv:
            self.eval_csv.write(row)
        if self.tensorboard:
            self.tensorboard.write(row, "eval")
        log.info("step %d: %s", row["step"], ", ".join(f"{k}={_cell(v)}" for k, v in row.items() if k != "step"))

    def close(self) -> None:
        for sink in (self.train_csv, self.eval_csv, self.tensorboard):
            if sink is not None:
                sink.close()
