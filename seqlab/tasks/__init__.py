"""Tasks (recipes): each turns a typed RunConfig into a trained run directory, scores it, and loads it back.

An explicit, typed registry: the ``task`` named in a config (or a run's config.json) picks its ``Task`` here.
Task modules are imported on first use, so `seqlab data ...` and `--help` never import a model.

    Task             what every task provides
    .RunConfig       its typed config (dataclass), read from YAML / config.json
    .train           (cfg, out_dir, *, progress, data_dir, resume) -> metrics
    .evaluate        (run_dir, *, split, data_dir, beam_size, out_dir) -> (metrics, ReportParts)
    .load            (run_dir, cfg, *, device) -> its predictor (translate / predict / tag / generate)
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqlab.errors import SeqlabError

RUN_FILES = ("config.json", "vocab.json", "model.safetensors")

# task name -> the module that defines it (imported lazily)
_MODULES = {"dates": "seqlab.tasks.dates", "classify": "seqlab.tasks.classify", "tag": "seqlab.tasks.tag",
            "lm": "seqlab.tasks.lm", "translate": "seqlab.tasks.translate"}


@dataclass(frozen=True)
class Task:
    name: str
    RunConfig: type
    train: Callable[..., dict]
    evaluate: Callable[..., tuple[dict, Any]]
    load: Callable[..., Any]


def task_names() -> list[str]:
    return sorted(_MODULES)


def get_task(name: str) -> Task:
    if name not in _MODULES:
        raise SeqlabError(f"unknown task {name!r} (known: {', '.join(task_names())})")
    module = importlib.import_module(_MODULES[name])
    return Task(name=name, RunConfig=module.RunConfig, train=module.train, evaluate=module.evaluate,
                load=module.load_predictor)


def check_run_dir(run_dir: str | Path) -> Path:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise SeqlabError(f"{run_dir}: no such model directory")
    for name in RUN_FILES:
        if not (run_dir / name).is_file():
            raise SeqlabError(f"{run_dir}: missing {name} (is this a directory written by seqlab train/demo?)")
    return run_dir


def read_run_config(run_dir: str | Path) -> Any:
    """config.json -> the task's typed run config."""
    from seqlab.config import from_dict

    path = Path(run_dir) / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise SeqlabError(f"{path}:{err.lineno}: invalid JSON ({err.msg})") from err
    if not isinstance(data, dict):
        raise SeqlabError(f"{path}: a run config is a JSON object")
    return from_dict(get_task(data.get("task", "")).RunConfig, data)


def load_run(run_dir: str | Path, *, device: str = "cpu") -> Any:
    """A trained run directory -> its task's predictor (what ``seqlab.load`` returns)."""
    run_dir = check_run_dir(run_dir)
    cfg = read_run_config(run_dir)
    try:
        return get_task(cfg.task).load(run_dir, cfg, device=device)
    except (ValueError, KeyError, json.JSONDecodeError) as err:
        raise SeqlabError(f"{run_dir}: damaged or incompatible run files ({err})") from err
