"""Config files -> typed run configs -> trained run directories (shared by the CLI and the Python API)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from seqlab.config import apply_overrides, find_config, from_dict, read_config_file, to_dict
from seqlab.errors import ConfigError
from seqlab.tasks import get_task, run_config_class, task_names
from seqlab.tasks.rundir import claim_run_dir


def build_run_config(data: dict[str, Any] | Any, overrides: list[str] = ()) -> Any:
    """A config dict (or a typed config) plus dotted overrides -> the task's typed RunConfig."""
    data = to_dict(data) if dataclasses.is_dataclass(data) else dict(data)
    data = apply_overrides(data, list(overrides))
    if "task" not in data:
        raise ConfigError(f"the config names no task (add 'task: NAME', one of: {', '.join(task_names())})")
    return from_dict(run_config_class(data["task"]), data)


def load_run_config(config: str | Path | dict | Any, overrides: list[str] = ()) -> Any:
    """A YAML file, a recipe's name (``sst2_nb``), a dict or a typed config, plus overrides -> the task's
    typed RunConfig."""
    data = read_config_file(find_config(config)) if isinstance(config, str | Path) else config
    return build_run_config(data, overrides)


def default_out(config: str | Path | dict | Any) -> Path:
    return Path("runs") / (Path(config).stem if isinstance(config, str | Path) else "run")


def train(config: str | Path | dict | Any, out: str | Path | None = None, *, overrides: list[str] = (),
          data_dir: str | Path | None = None, progress: bool = True, resume: bool = False,
          overwrite: bool = False) -> dict:
    """Train from a YAML file, a recipe's name, a dict or a typed config; write the run directory; return its metrics.
    With ``resume``, continue the run in ``out`` from its last checkpoint (the config must be the same); a directory
    that holds another run is refused unless ``overwrite``."""
    cfg = load_run_config(config, overrides)
    out = claim_run_dir(Path(out) if out else default_out(config), to_dict(cfg), resume=resume, overwrite=overwrite)
    return get_task(cfg.task).train(cfg, out, progress=progress, data_dir=data_dir, resume=resume)


def demo(out: str | Path = "runs/demo", *, minutes: float = 4.0, progress: bool = True, overwrite: bool = False
         ) -> dict:
    """The main job: train the date-normaliser within ``minutes`` (everything included) and report."""
    from seqlab.tasks import dates

    if not (0.5 < minutes < float("inf")):
        raise ConfigError(f"--minutes must be a number above 0.5, got {minutes}")
    cfg = dates.RunConfig()
    cfg.train.max_minutes = minutes - max(0.25, 0.05 * minutes)  # leave time to test, save and plot
    out = claim_run_dir(out, to_dict(cfg), overwrite=overwrite)
    return dates.train(cfg, out, progress=progress)
