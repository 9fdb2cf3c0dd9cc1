"""Weights and training checkpoints as safetensors (never pickle), written atomically.

A training checkpoint is one file: the model's tensors under ``model.``, the optimiser's under ``optim.``,
the RNG states under ``rng.``, and everything else (step, data position, scheduler, history, the
optimiser's hyper-parameters) as JSON in the file's metadata. Loading parses tensors and JSON only, so
a checkpoint from an untrusted source cannot run code, unlike ``torch.load`` of a pickle.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_model, save_file
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.io import atomic_write

CHECKPOINT_FORMAT = 1
META_KEY = "seqlab_checkpoint"


def save_weights(model: nn.Module, path: str | Path) -> None:
    """Tied parameters (embedding = output projection) are stored once; ``load_weights`` re-ties them.
    The same weights always give the same bytes (the tied names go in one sorted metadata entry)."""
    weights, aliases = _unique_tensors(model.state_dict())
    tensors = {k: v.detach().contiguous().cpu() for k, v in weights.items()}
    metadata = {"tied": json.dumps(aliases, sort_keys=True)}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))


def load_weights(model: nn.Module, path: str | Path) -> None:
    path = Path(path)
    if not path.is_file():
        raise SeqlabError(f"{path}: weights file not found")
    try:
        missing, unexpected = load_model(model, str(path), strict=False)
    except RuntimeError as err:  # shapes that do not fit the config
        detail = str(err).splitlines()[-1].strip()
        raise SeqlabError(f"{path}: weights do not fit the model's config ({detail})") from err
    except Exception as err:  # safetensors raises its own error type for a damaged file
        raise SeqlabError(f"{path}: not a readable safetensors file ({err})") from err
    if missing or unexpected:
        raise SeqlabError(f"{path}: weights do not fit the model (missing {sorted(missing)[:3]}, "
                          f"unexpected {sorted(unexpected)[:3]})")


def read_tensors(path: str | Path) -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file; a damaged or foreign file is a one-line error naming it."""
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise SeqlabError(f"{path}: not a readable safetensors file ({err})") from err


# ---- training checkpoints -------------------------------------------------------------------------------

def _unique_tensors(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Drop aliases of one storage (tied weights): safetensors refuses shared memory. Returns the kept
    tensors and {alias: kept name}."""
    kept: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    seen: dict[tuple, str] = {}
    for name, tensor in state.items():
        key = (tensor.device, tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape))
        if tensor.numel() and key in seen:
            aliases[name] = seen[key]
        else:
            seen[key] = name
            kept[name] = tensor
    return kept, aliases


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """The optimiser's state dict split into tensors (moments, momentum buffers) and JSON (the rest)."""
    state = optimizer.state_dict()
    tensors, plain = {}, {}
    for index, values in state["state"].items():
        plain[str(index)] = {}
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{index}.{key}"] = value
            else:
                plain[str(index)][key] = value
    return tensors, {"param_groups": state["param_groups"], "state": plain}


def _optimizer_state(meta: dict, tensors: dict[str, torch.Tensor]) -> dict:
    state: dict[int, dict[str, Any]] = {int(i): dict(values) for i, values in meta["state"].items()}
    for name, tensor in tensors.items():
        if name.startswith("optim."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = tensor
    return {"state": state, "param_groups": meta["param_groups"]}


def rng_state() -> tuple[dict[str, torch.Tensor], dict]:
    """Every random stream training touches: Python's, NumPy's, torch's CPU and CUDA generators."""
    version, mt, gauss = random.getstate()
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    tensors = {"rng.torch": torch.get_rng_state(), "rng.numpy": torch.from_numpy(np_keys.astype(np.int64))}
    if torch.cuda.is_available():
        tensors |= {f"rng.cuda.{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())}
    meta = {"python": [version, list(mt), gauss], "numpy": [np_kind, int(np_pos), int(np_has_gauss), float(np_gauss)]}
    return tensors, meta


def set_rng_state(tensors: dict[str, torch.Tensor], meta: dict) -> None:
    version, mt, gauss = meta["python"]
    random.setstate((version, tuple(mt), gauss))
    np_kind, np_pos, np_has_gauss, np_gauss = meta["numpy"]
    np.random.set_state((np_kind, tensors["rng.numpy"].numpy().astype(np.uint32), np_pos, np_has_gauss, np_gauss))
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[f"rng.cuda.{i}"] for i in range(sum(n.startswith("rng.cuda.") for n in tensors))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)


def save_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer, state: dict) -> None:
    """Model, optimiser, RNG states and ``state`` (JSON: step, data position, scheduler, ...) in one file,
    written atomically: killed mid-save, the previous checkpoint is still there, whole."""
    weights, aliases = _unique_tensors(model.state_dict())
    optim_tensors, optim_meta = _optimizer_tensors(optimizer)
    rng_tensors, rng_meta = rng_state()
    tensors = {f"model.{k}": v for k, v in weights.items()} | optim_tensors | rng_tensors
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    meta = {"format": CHECKPOINT_FORMAT, "aliases": aliases, "optimizer": optim_meta, "rng": rng_meta, **state}
    text = json.dumps(meta, allow_nan=True)
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={META_KEY: text}))


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Tensors and JSON state of a checkpoint; a file that is not one is a SeqlabError naming it."""
    path = Path(path)
    if not path.is_file():
        raise SeqlabError(f"{path}: no checkpoint there")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta_text = (f.metadata() or {}).get(META_KEY)
            tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118 (safe_open has no __iter__)
    except (SafetensorError, OSError, ValueError) as err:
        raise SeqlabError(f"{path}: not a readable safetensors checkpoint ({err})") from err
    if meta_text is None:
        raise SeqlabError(f"{path}: a safetensors file, but not a seqlab training checkpoint")
    meta = json.loads(meta_text)
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise SeqlabError(f"{path}: checkpoint format {meta.get('format')} is not {CHECKPOINT_FORMAT}")
    return tensors, meta


def load_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    *, restore_rng: bool = True) -> dict:
    """Restore model, optimiser and RNG states from ``path``; returns the JSON state (step, data position...)
    with the RNG tensors under ``rng_tensors`` (for ``set_rng_state`` later, when ``restore_rng`` is False)."""
    tensors, meta = read_checkpoint(path)
    weights = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    weights |= {alias: weights[kept] for alias, kept in meta["aliases"].items()}
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as err:
        detail = " ".join(str(err).split())[:300]
        raise SeqlabError(f"{path}: the checkpoint does not fit this model ({detail})") from err
    if optimizer is not None:
        try:
            kernels = [{k: g.get(k) for k in ("fused", "foreach")} for g in optimizer.param_groups]
            optimizer.load_state_dict(_optimizer_state(meta["optimizer"], tensors))
            for group, kernel in zip(optimizer.param_groups, kernels, strict=True):
                group.update(kernel)  # this optimiser's kernel, not the one the checkpoint was written with
        except (ValueError, KeyError) as err:
            raise SeqlabError(f"{path}: the optimiser state does not fit this optimiser ({err})") from err
    rng_tensors = {k: v for k, v in tensors.items() if k.startswith("rng.")}
    if restore_rng:
        set_rng_state(rng_tensors, meta["rng"])
    return meta | {"rng_tensors": rng_tensors}
