"""Plots people would rather look at than read: learning curves and attention maps (PNG files)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files, not windows: works headless and in CI
import matplotlib.pyplot as plt
import numpy as np

from seqlab.io import atomic_write


def _save(fig: plt.Figure, path: str | Path) -> None:
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png"))
    plt.close(fig)


def plot_learning_curve(history: Sequence[dict], path: str | Path, *, metric: str | None = None,
                        title: str = "Learning curve") -> None:
    """Training loss against step, with an evaluation metric on a second axis."""
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = [r["step"] for r in history if "loss" in r]
    ax.plot(steps, [r["loss"] for r in history if "loss" in r], color="tab:blue", label="train loss")
    ax.set_xlabel("step")
    ax.set_ylabel("train loss", color="tab:blue")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    evals = [r for r in history if metric and f"eval_{metric}" in r]
    if evals:
        ax2 = ax.twinx()
        ax2.plot([r["step"] for r in evals], [r[f"eval_{metric}"] for r in evals], "o-", color="tab:orange")
        ax2.set_ylabel(f"dev {metric}", color="tab:orange")
        ax2.set_ylim(0, 1.02)
    ax.set_title(title)
    _save(fig, path)


def plot_attention(weights: np.ndarray, source: Sequence[str], target: Sequence[str], path: str | Path,
                   *, title: str = "Cross-attention") -> None:
    """Heatmap of attention weights (T, S): row t shows where output token t looked in the source."""
    weights = np.asarray(weights, dtype=float)
    fig, ax = plt.subplots(figsize=(max(4, 0.32 * len(source) + 1.5), max(3, 0.32 * len(target) + 1)))
    image = ax.imshow(weights, cmap="viridis", aspect="auto", vmin=0.0)
    ax.set_xticks(range(len(source)), [s if s.strip() else "␣" for s in source], fontsize=8)
    ax.set_yticks(range(len(target)), list(target), fontsize=8)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.04)
    _save(fig, path)
