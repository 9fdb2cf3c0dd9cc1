"""What every task does with its run directory: create it, or check that a resumed run is the same run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seqlab.config import to_dict
from seqlab.errors import SeqlabError
from seqlab.io import write_json

# Keys a resumed run may change: how long it runs, how it reports, where it runs. Anything else (model,
# data, optimiser, batch) would make the "resumed" run a different one.
RESUMABLE_CHANGES = {"train.steps", "train.max_minutes", "train.log_every", "train.eval_every",
                     "train.checkpoint_every", "train.device"}


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        return {k: v for key, value in data.items() for k, v in _flatten(value, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): data}


def prepare_run_dir(out_dir: str | Path, cfg: Any, *, resume: bool = False, write: bool = True) -> Path:
    """Create ``out_dir`` and write config.json; with ``resume``, first check that config.json there
    describes the same run (naming the first key that differs)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SeqlabError(f"--out {out_dir} is a file; a run needs a directory")
    config = to_dict(cfg)
    if resume:
        saved_path = out_dir / "config.json"
        if not saved_path.is_file():
            raise SeqlabError(f"nothing to resume in {out_dir}: no config.json (was the run ever started there?)")
        saved, now = _flatten(json.loads(saved_path.read_text(encoding="utf-8"))), _flatten(config)
        changed = sorted(k for k in saved.keys() | now.keys()
                         if saved.get(k) != now.get(k) and k not in RESUMABLE_CHANGES)
        if changed:
            key = changed[0]
            raise SeqlabError(f"--resume: config key '{key}' is {now.get(key)!r} but the run in {out_dir} was "
                              f"started with {saved.get(key)!r}; only {', '.join(sorted(RESUMABLE_CHANGES))} "
                              "may change")
    if write:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_json(out_dir / "config.json", config)
    return out_dir
