"""Run directories: what a run may read from one, and when a training run may write into one.

A run directory is user input (downloaded, shared, edited): every file it refers to must resolve inside it,
be a regular file and stay under a size limit, and every damaged file is a one-line ``SeqlabError`` naming it.
Training into a directory that already holds a run needs ``--resume`` (the same run, continued) or
``--overwrite`` (a new run in its place): a run is never replaced silently. Torch-free, so the CLI can check
before it imports a model.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

from seqlab.errors import SeqlabError
from seqlab.io import check_output_dir

RUN_FILES = ("config.json", "vocab.json", "model.safetensors")
# what seqlab writes into a run directory (all of it goes on --overwrite; nothing else is touched)
RUN_OUTPUTS = (*RUN_FILES, "tokenizer.json", "vectors.bin", "metrics.json", "history.json", "report.md",
               "train_log.csv", "eval_log.csv", "checkpoints", "tensorboard")
RUN_PLOT_SUFFIX = ".png"

MAX_JSON_BYTES = 256 * 2**20  # vocabularies and tokenizers are a few MB; a larger JSON file is not ours
MAX_WEIGHTS_BYTES = 64 * 2**30

# Keys a resumed run may change: how long it runs, how it reports, where it runs. Anything else (model,
# data, optimiser, batch) would make the "resumed" run a different one.
RESUMABLE_CHANGES = {"train.steps", "train.max_minutes", "train.log_every", "train.eval_every",
                     "train.checkpoint_every", "train.device", "data.example"}


def run_file(run_dir: str | Path, name: str, *, max_bytes: int = MAX_JSON_BYTES) -> Path:
    """The path of file ``name`` of a run directory, refused unless it resolves inside the directory (no ``..``,
    no absolute name, no symbolic link out), is a regular file (not a device or a FIFO) and is at most
    ``max_bytes`` long."""
    run_dir = Path(run_dir)
    if not isinstance(name, str) or not name or Path(name).is_absolute():
        raise SeqlabError(f"{run_dir}: refers to the file {name!r}; a run's files are named relative to it")
    root = run_dir.resolve()
    path = (run_dir / name).resolve()
    if not path.is_relative_to(root):
        raise SeqlabError(f"{run_dir}: refers to {name!r}, which lies outside the run directory")
    try:
        info = path.stat()
    except OSError as err:
        raise SeqlabError(f"{run_dir / name}: cannot read ({err.strerror})") from err
    if not stat.S_ISREG(info.st_mode):
        raise SeqlabError(f"{run_dir / name}: not a regular file")
    if info.st_size > max_bytes:
        raise SeqlabError(f"{run_dir / name}: {info.st_size:,} bytes, more than a run's file may hold "
                          f"({max_bytes:,})")
    return path


def read_run_text(run_dir: str | Path, name: str, *, max_bytes: int = MAX_JSON_BYTES) -> str:
    path = run_file(run_dir, name, max_bytes=max_bytes)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise SeqlabError(f"{Path(run_dir) / name}: not UTF-8 text (byte {err.start})") from err
    except OSError as err:
        raise SeqlabError(f"{Path(run_dir) / name}: cannot read ({err.strerror})") from err


def read_run_json(run_dir: str | Path, name: str, *, expect: type = dict) -> Any:
    """A JSON file of a run directory (vocab.json ...), with an error naming it (and the line) when it is damaged."""
    text = read_run_text(run_dir, name)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise SeqlabError(f"{Path(run_dir) / name}:{err.lineno}: invalid JSON ({err.msg})") from err
    except RecursionError as err:
        raise SeqlabError(f"{Path(run_dir) / name}: JSON nested too deeply") from err
    if not isinstance(data, expect):
        raise SeqlabError(f"{Path(run_dir) / name}: expected a JSON {'object' if expect is dict else 'list'}")
    return data


def weights_file(run_dir: str | Path, name: str = "model.safetensors") -> Path:
    return run_file(run_dir, name, max_bytes=MAX_WEIGHTS_BYTES)


def check_run_dir(run_dir: str | Path) -> Path:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise SeqlabError(f"{run_dir}: no such model directory")
    for name in RUN_FILES:
        if not (run_dir / name).exists():
            raise SeqlabError(f"{run_dir}: missing {name} (is this a directory written by seqlab train/demo?)")
        run_file(run_dir, name, max_bytes=MAX_WEIGHTS_BYTES if name.endswith(".safetensors") else MAX_JSON_BYTES)
    return run_dir


def holds_run(out_dir: Path) -> bool:
    return any((out_dir / name).exists() for name in ("config.json", "model.safetensors", "checkpoints"))


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        return {k: v for key, value in data.items() for k, v in _flatten(value, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): data}


def check_resumable(out_dir: Path, config: dict, *, filled_later: bool = False) -> None:
    """--resume: ``out_dir`` holds a run whose config.json describes this same run (naming the first key that
    differs). ``filled_later``: the config's data-derived sizes (vocabulary sizes, 0 until the data are read) are
    not compared yet; the task compares again once it has filled them."""
    if not (out_dir / "config.json").exists():
        raise SeqlabError(f"nothing to resume in {out_dir}: no config.json (was the run ever started there?)")
    saved, now = _flatten(read_run_json(out_dir, "config.json")), _flatten(config)
    if filled_later:  # checked before the data are read: sizes a task fills in from its data (0 or null) wait
        now = {k: v for k, v in now.items() if v not in (0, None) or saved.get(k) in (0, None)}
        saved = {k: v for k, v in saved.items() if k in now}
    changed = sorted(k for k in saved.keys() | now.keys() if saved.get(k) != now.get(k) and k not in RESUMABLE_CHANGES)
    if changed:
        key = changed[0]
        raise SeqlabError(f"--resume: config key '{key}' is {now.get(key)!r} but the run in {out_dir} was "
                          f"started with {saved.get(key)!r}; only {', '.join(sorted(RESUMABLE_CHANGES))} may change")


def claim_run_dir(out_dir: str | Path, config: dict, *, resume: bool = False, overwrite: bool = False) -> Path:
    """Before any training work: ``out_dir`` may take this run. A directory that holds a run is continued
    (``resume``, same config) or replaced (``overwrite``: seqlab's own files there are removed first, on the main
    process only); otherwise it is refused, naming both."""
    out_dir = check_output_dir(out_dir)
    if resume and overwrite:
        raise SeqlabError("--resume continues the run in --out and --overwrite replaces it: choose one")
    if resume:
        check_resumable(out_dir, config, filled_later=True)
    elif holds_run(out_dir):
        if not overwrite:
            raise SeqlabError(f"--out {out_dir} already holds a run; continue it with --resume, or replace it "
                              "with --overwrite")
        if int(os.environ.get("RANK", "0")) == 0:
            remove_run_outputs(out_dir)
    return out_dir


def remove_run_outputs(out_dir: Path) -> None:
    for name in RUN_OUTPUTS:
        path = out_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    for plot in out_dir.glob(f"*{RUN_PLOT_SUFFIX}"):
        plot.unlink()


def read_run_config(run_dir: str | Path) -> Any:
    """config.json -> the task's typed run config."""
    from seqlab.config import from_dict
    from seqlab.tasks import run_config_class

    data = read_run_json(run_dir, "config.json")
    return from_dict(run_config_class(data.get("task", "")), data)
