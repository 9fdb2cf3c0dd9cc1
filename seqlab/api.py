"""The Python API around a trained run directory: ``seqlab.load(run_dir).translate([...])``.

It only dispatches: the run's config.json names its task, and the task's registry entry
(``seqlab.tasks.get_task``) loads the predictor, which lives with its task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seqlab.tasks import RUN_FILES, check_run_dir, load_run, read_run_config

__all__ = ["RUN_FILES", "check_run_dir", "load", "read_run_config"]


def load(run_dir: str | Path, *, device: str = "cpu") -> Any:
    """Load a trained run directory (config.json, vocab.json, model.safetensors) as its task's predictor:
    a translator (``.translate``), a classifier (``.predict``), a tagger (``.tag``), a language model
    (``.generate``) or a pre-trained BERT (``.fill``)."""
    return load_run(run_dir, device=device)
