"""Hugging Face model directories, read and written the one way every family does it: config.json beside
model.safetensors (or a sharded model.safetensors.index.json). Pickled pytorch_model.bin files are never read."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

import torch

from seqlab.errors import SeqlabError


def read_hf_dir(directory: Path, model_type: str) -> tuple[dict, dict[str, torch.Tensor]]:
    """(config.json as a dict, every tensor) of a directory holding a ``model_type`` model."""
    from seqlab.training.checkpoint import read_tensors

    config_path = directory / "config.json"
    if not config_path.is_file():
        raise SeqlabError(f"{directory}: not a Hugging Face model directory (no config.json)")
    try:
        hf_config = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SeqlabError(f"{config_path}: not JSON ({err})") from err
    if hf_config.get("model_type", model_type) != model_type:
        raise SeqlabError(f"{config_path}: model_type {hf_config.get('model_type')!r}, not {model_type!r}")
    index = directory / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        return hf_config, {k: v for shard in shards for k, v in read_tensors(directory / shard).items()}
    if (directory / "model.safetensors").is_file():
        return hf_config, read_tensors(directory / "model.safetensors")
    raise SeqlabError(f"{directory}: no model.safetensors (pickled pytorch_model.bin files are not read)")


def write_hf_dir(directory: str | Path, state: Mapping[str, torch.Tensor], hf_config: dict) -> Path:
    """config.json and model.safetensors that ``transformers``' ``from_pretrained`` loads. Tensors are copied:
    safetensors refuses two names on one storage (a tied copy, a shared bias)."""
    from safetensors.torch import save_file

    from seqlab.io import atomic_write, check_output_dir, write_json

    directory = check_output_dir(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().clone().contiguous() for k, v in state.items()}
    write_json(directory / "config.json", hf_config)
    atomic_write(directory / "model.safetensors", lambda tmp: save_file(tensors, tmp, metadata={"format": "pt"}))
    return directory


def hf_source(source: str | Path | Mapping[str, torch.Tensor], config, *, model_type: str, config_class: type,
              from_hf: Callable[[Mapping], object]) -> tuple[dict[str, torch.Tensor], object]:
    """(state dict, our config) from a directory, or from a state dict with its config: ours (``config_class``),
    or Hugging Face's as a dict or a ``transformers`` config object (converted by ``from_hf``)."""
    if isinstance(source, str | Path):
        hf_config, state = read_hf_dir(Path(source), model_type)
        config = config or hf_config
    else:
        state = dict(source)
    if config is None:
        raise ValueError(f"from_hf(state_dict) needs the config (a {config_class.__name__} or the Hugging Face one)")
    if not isinstance(config, config_class):
        config = from_hf(config if isinstance(config, Mapping) else config.to_dict())
    return state, config
