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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqlab.errors import SeqlabError
from seqlab.tasks.rundir import RUN_FILES, check_run_dir, read_run_config

__all__ = ["RUN_FILES", "Task", "check_run_dir", "get_task", "load_run", "read_run_config", "run_config_class",
           "task_names"]

# task name -> the module that defines it (imported lazily)
_MODULES = {"dates": "seqlab.tasks.dates", "classify": "seqlab.tasks.classify", "tag": "seqlab.tasks.tag",
            "lm": "seqlab.tasks.lm", "translate": "seqlab.tasks.translate", "mlm": "seqlab.tasks.mlm",
            "word2vec": "seqlab.tasks.word2vec", "babi": "seqlab.tasks.babi",
            "series": "seqlab.tasks.series", "image": "seqlab.tasks.image", "forecast": "seqlab.tasks.forecast"}


@dataclass(frozen=True)
class Task:
    name: str
    RunConfig: type
    train: Callable[..., dict]
    evaluate: Callable[..., tuple[dict, Any]]
    load: Callable[..., Any]


def task_names() -> list[str]:
    return sorted(_MODULES)


# task name -> its RunConfig in seqlab.tasks.config (torch-free: a config is read and checked without PyTorch)
_CONFIGS = {"dates": "DatesRunConfig", "classify": "ClassifyRunConfig", "tag": "TagRunConfig", "lm": "LMRunConfig",
            "translate": "TranslateRunConfig", "mlm": "MLMRunConfig",
            "word2vec": "Word2VecRunConfig", "babi": "BabiRunConfig",
            "series": "SeriesRunConfig", "image": "ImageRunConfig", "forecast": "ForecastRunConfig"}


def run_config_class(name: str) -> type:
    """The typed RunConfig of the task ``name``, without importing the task (or PyTorch)."""
    from seqlab.tasks import config

    if name not in _CONFIGS:
        raise SeqlabError(f"unknown task {name!r} (known: {', '.join(task_names())})")
    return getattr(config, _CONFIGS[name])


def get_task(name: str) -> Task:
    if name not in _MODULES:
        raise SeqlabError(f"unknown task {name!r} (known: {', '.join(task_names())})")
    module = importlib.import_module(_MODULES[name])
    return Task(name=name, RunConfig=module.RunConfig, train=module.train, evaluate=module.evaluate,
                load=module.load_predictor)


def load_run(run_dir: str | Path, *, device: str = "cpu") -> Any:
    """A trained run directory -> its task's predictor (what ``seqlab.load`` returns)."""
    run_dir = check_run_dir(run_dir)
    cfg = read_run_config(run_dir)
    try:
        return get_task(cfg.task).load(run_dir, cfg, device=device)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as err:  # e.g. a vocab.json of wrong types
        raise SeqlabError(f"{run_dir}: damaged or incompatible run files ({type(err).__name__}: {err})") from err
