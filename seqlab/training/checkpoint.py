"""Weights as safetensors (never pickle), written atomically."""

from __future__ import annotations

from pathlib import Path

from safetensors.torch import load_model, save_model
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.io import atomic_write


def save_weights(model: nn.Module, path: str | Path) -> None:
    """Tied parameters (embedding = output projection) are stored once; ``load_weights`` re-ties them."""
    atomic_write(path, lambda tmp: save_model(model, tmp))


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
