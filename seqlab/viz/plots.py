"""Plots people would rather look at than read (PNG files): learning curves, attention maps,
confusion matrices, ROC and precision-recall curves.

Every ``plot_*`` function writes its PNG atomically and returns the (closed) Figure, so a caller
or a test can read back exactly what was drawn: ``fig.axes[0].lines[0].get_xydata()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files, not windows: works headless and in CI
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import ticker

from seqlab.io import atomic_write

TRAIN_COLOR, DEV_COLOR, METRIC_COLOR, POINT_COLOR = "tab:blue", "tab:red", "tab:orange", "black"


def _save(fig: plt.Figure, path: str | Path) -> plt.Figure:
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png"))
    plt.close(fig)
    return fig


def _log_axis_labels(axis: matplotlib.axis.Axis) -> None:
    """Plain numbers on a log axis (0.1, not 10^-1); over two decades or less also 0.2, 0.3 and 0.5 between."""
    def minor(value: float, _pos: int) -> str:
        low, high = axis.get_view_interval()
        mantissa = value / 10 ** np.floor(np.log10(value))
        return f"{value:g}" if np.log10(high / low) <= 2 and round(mantissa) in (2, 3, 5) else ""

    axis.set_major_formatter(ticker.FuncFormatter(lambda value, _pos: f"{value:g}"))
    axis.set_minor_formatter(ticker.FuncFormatter(minor))


def plot_learning_curve(history: Sequence[dict], path: str | Path, *, metric: str | None = None,
                        title: str = "Learning curve", x: str = "step") -> plt.Figure:
    """Training loss and, where evaluations logged one, validation loss (``eval_loss``) against ``x``
    ("step" or "epoch"), with the validation ``metric`` (``eval_<metric>``) on a second axis.

    ``history`` is the Trainer's list of records: ``{"step", "loss", ...}`` per log point and
    ``{"step", "eval_<name>", ...}`` per evaluation.
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    train = [r for r in history if "loss" in r and x in r]
    dev = [r for r in history if "eval_loss" in r and x in r]
    ax.plot([r[x] for r in train], [r["loss"] for r in train], color=TRAIN_COLOR, label="train loss")
    if dev:
        ax.plot([r[x] for r in dev], [r["eval_loss"] for r in dev], "s-", color=DEV_COLOR, markersize=4,
                label="validation loss")
    ax.set_xlabel(x)
    ax.set_ylabel("loss")
    losses = [r["loss"] for r in train] + [r["eval_loss"] for r in dev]
    if losses and min(losses) > 0:
        ax.set_yscale("log")
        _log_axis_labels(ax.yaxis)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    evals = [r for r in history if metric and f"eval_{metric}" in r and x in r]
    if evals:
        ax2 = ax.twinx()
        values = [r[f"eval_{metric}"] for r in evals]
        ax2.plot([r[x] for r in evals], values, "o-", color=METRIC_COLOR, markersize=4,
                 label=f"validation {metric}")
        ax2.set_ylabel(f"validation {metric}", color=METRIC_COLOR)
        ax2.tick_params(axis="y", colors=METRIC_COLOR)
        if min(values) >= 0.0 and max(values) <= 1.0:  # a rate: show it on its whole scale
            ax2.set_ylim(0, 1.02)
        more_handles, more_labels = ax2.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    if handles:
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=len(handles),
                  frameon=False, fontsize=9)
    ax.set_title(title)
    return _save(fig, path)


def plot_attention(weights: np.ndarray, source: Sequence[str], target: Sequence[str], path: str | Path,
                   *, title: str = "Cross-attention", axis_names: tuple[str, str] = ("source", "output")
                   ) -> plt.Figure:
    """Heatmap of attention weights (T, S): row t shows where output token t looked in the source (or any
    weights over named columns and rows: ``axis_names`` = (x, y))."""
    weights = np.asarray(weights, dtype=float)
    fig, ax = plt.subplots(figsize=(max(4, 0.32 * len(source) + 1.5), max(3, 0.32 * len(target) + 1)))
    image = ax.imshow(weights, cmap="viridis", aspect="auto", vmin=0.0)
    _token_axes(ax, source, target)
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.04, label="attention weight")
    return _save(fig, path)


def _token_axes(ax: plt.Axes, source: Sequence[str], target: Sequence[str]) -> None:
    rotate = 90 if max((len(s) for s in source), default=1) > 1 else 0  # words and subwords stand upright
    ax.set_xticks(range(len(source)), [s if s.strip() else "␣" for s in source], fontsize=8, rotation=rotate)
    ax.set_yticks(range(len(target)), list(target), fontsize=8)
    ax.set_xlabel("source")
    ax.set_ylabel("output")


def plot_attention_heads(weights: np.ndarray, source: Sequence[str], target: Sequence[str], path: str | Path,
                         *, title: str = "Cross-attention per head") -> plt.Figure:
    """One heatmap per head (H, T, S) and their average, in a grid sharing one colour scale."""
    weights = np.asarray(weights, dtype=float)
    panels = [*weights, weights.mean(0)]
    names = [f"head {h + 1}" for h in range(len(weights))] + ["average"]
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    cell_w, cell_h = max(3.0, 0.28 * len(source) + 1.2), max(2.5, 0.28 * len(target) + 1.0)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * cell_w, rows * cell_h), squeeze=False,
                             constrained_layout=True)
    for i, (ax, panel, name) in enumerate(zip(axes.flat, panels, names, strict=False)):
        image = ax.imshow(panel, cmap="viridis", aspect="auto", vmin=0.0, vmax=1.0)
        _token_axes(ax, source, target)
        ax.set_title(name, fontsize=9)
        if i % cols:
            ax.set_ylabel("")  # axis names once per row and column: the panels sit close together
        if i < len(panels) - cols:
            ax.set_xlabel("")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle(title)
    fig.colorbar(image, ax=axes, fraction=0.02, label="attention weight")
    return _save(fig, path)


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (a row of a confusion matrix: recall per true class); empty rows stay 0."""
    matrix = np.asarray(matrix, dtype=float)
    totals = matrix.sum(axis=1, keepdims=True)
    return np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)


def plot_confusion_matrix(matrix: np.ndarray, class_names: Sequence[str], path: str | Path, *,
                          normalize: bool = False, title: str | None = None) -> plt.Figure:
    """Heatmap of a confusion matrix (rows: true class, columns: predicted class), every cell annotated.

    ``normalize=True`` divides each row by its total, so the diagonal reads as per-class recall.
    """
    counts = np.asarray(matrix)
    n = len(class_names)
    if counts.shape != (n, n):
        raise ValueError(f"confusion matrix of shape {counts.shape} for {n} class names")
    values = normalize_rows(counts) if normalize else counts
    side = min(14.0, max(4.5, 0.6 * n + 2.5))
    fig, ax = plt.subplots(figsize=(side + 1.2, side))
    image = ax.imshow(values, cmap="Blues", vmin=0.0, vmax=1.0 if normalize else max(1, counts.max()))
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="fraction of true class" if normalize else "count")
    crowded = n * max(map(len, class_names)) > 30  # tick labels would run into each other: slant them
    ax.set_xticks(range(n), list(class_names), rotation=45 if crowded else 0, ha="right" if crowded else "center")
    ax.set_yticks(range(n), list(class_names))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if n <= 30:  # beyond that the numbers are unreadable; the colours still tell
        fontsize = 10 if n <= 10 else 7
        threshold = (1.0 if normalize else values.max()) / 2
        for i in range(n):
            for j in range(n):
                text = f"{values[i, j]:.2f}" if normalize else f"{int(values[i, j])}"
                ax.text(j, i, text, ha="center", va="center", fontsize=fontsize,
                        color="white" if values[i, j] > threshold else "black")
    ax.set_title(title or ("Confusion matrix (row-normalised)" if normalize else "Confusion matrix (counts)"))
    return _save(fig, path)


def _mark_threshold(ax: plt.Axes, point: tuple[float, float], threshold: float, *, right: bool) -> None:
    """A dot on the curve and "t = 0.50" beside it, below the curve (``right`` for ROC, left for PR), where
    the curve does not run."""
    ax.plot([point[0]], [point[1]], "o", color=POINT_COLOR, markersize=7, zorder=5,
            label=f"operating point (t = {threshold:.2f})")
    ax.annotate(f"t = {threshold:.2f}", point, xytext=(10 if right else -10, -10), textcoords="offset points",
                fontsize=10, ha="left" if right else "right", va="top",
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.85, "edgecolor": "none"})


def _unit_square(ax: plt.Axes) -> None:
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.03)
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)


def plot_roc_curve(fpr: Sequence[float], tpr: Sequence[float], path: str | Path, *, auc: float | None = None,
                   operating_point: tuple[float, float] | None = None, threshold: float = 0.5,
                   title: str = "ROC curve") -> plt.Figure:
    """Receiver operating characteristic: true-positive rate against false-positive rate, with the chance
    diagonal, the AUC in the legend and, given ``operating_point=(fpr, tpr)``, the classifier's decision
    threshold marked as a dot labelled "t = 0.50"."""
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    label = "model" if auc is None else f"model (AUC = {auc:.3f})"
    ax.plot(fpr, tpr, color=TRAIN_COLOR, linewidth=2, label=label)
    ax.plot([0, 1], [0, 1], "--", color="gray", linewidth=1, label="chance (AUC = 0.5)")
    if operating_point is not None:
        _mark_threshold(ax, operating_point, threshold, right=operating_point[0] < 0.75)
    ax.set_xlabel("false-positive rate (1 − specificity)")
    ax.set_ylabel("true-positive rate (recall)")
    _unit_square(ax)
    ax.legend(loc="lower right", fontsize=9)
    ax.set_title(title)
    return _save(fig, path)


def plot_pr_curve(precision: Sequence[float], recall: Sequence[float], path: str | Path, *,
                  average_precision: float | None = None, positive_rate: float | None = None,
                  operating_point: tuple[float, float] | None = None, threshold: float = 0.5,
                  title: str = "Precision-recall curve") -> plt.Figure:
    """Precision against recall as a step curve (as average precision sums it), with the average precision
    in the legend, the no-skill baseline at the positive rate and, given ``operating_point=(recall,
    precision)``, the decision threshold marked. Arguments in the order sklearn's
    ``precision_recall_curve`` returns them."""
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    label = "model" if average_precision is None else f"model (AP = {average_precision:.3f})"
    ax.plot(recall, precision, color=TRAIN_COLOR, linewidth=2, drawstyle="steps-post", label=label)
    if positive_rate is not None:
        ax.axhline(positive_rate, linestyle="--", color="gray", linewidth=1,
                   label=f"chance (positive rate = {positive_rate:.3f})")
    if operating_point is not None:
        _mark_threshold(ax, operating_point, threshold, right=operating_point[0] < 0.25)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    _unit_square(ax)
    ax.legend(loc="lower left", fontsize=9)
    ax.set_title(title)
    return _save(fig, path)


def plot_layer_weights(weights: dict[str, Sequence[float]], path: str | Path, *,
                       title: str = "ELMo: how much each biLM layer counts, per task") -> plt.Figure:
    """Grouped bars: for each run (task), its softmax-normalised layer weights s_0 (token layer) .. s_L."""
    fig, ax = plt.subplots(figsize=(max(4.5, 1.6 * len(weights) + 2), 3.4))
    n_layers = max(len(w) for w in weights.values())
    width = 0.8 / n_layers
    x = np.arange(len(weights))
    for j in range(n_layers):
        heights = [w[j] if j < len(w) else 0.0 for w in weights.values()]
        label = "s_0 (token layer)" if j == 0 else f"s_{j} (biLSTM layer {j})"
        bars = ax.bar(x + (j - (n_layers - 1) / 2) * width, heights, width, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.axhline(1 / n_layers, color="grey", lw=0.8, ls="--", label="even mix")
    ax.set_xticks(x, list(weights))
    ax.set_ylabel("weight s_j")
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper right")
    return _save(fig, path)


def plot_memory_hops(weights: np.ndarray, sentences: Sequence[str], path: str | Path, *, question: str = "",
                     answer: str = "", truth: str | None = None) -> plt.Figure:
    """A memory network's attention in the style of Sukhbaatar et al. (2015, Fig. 2): the story's sentences as rows,
    the hops as columns, each cell shaded by the weight the hop gives the sentence (``weights`` (K, M))."""
    weights = np.asarray(weights, dtype=float)
    hops, rows = weights.shape
    fig, ax = plt.subplots(figsize=(3.2 + 0.9 * hops + 0.055 * max((len(s) for s in sentences), default=10),
                                    1.2 + 0.3 * rows))
    ax.imshow(weights.T, cmap="Blues", vmin=0, vmax=max(1.0, float(weights.max())), aspect="auto")
    for k in range(hops):
        for i in range(rows):
            w = weights[k, i]
            ax.text(k, i, f"{w:.2f}", ha="center", va="center", fontsize=7, color="white" if w > 0.6 else "black")
    ax.set_xticks(range(hops), [f"hop {k + 1}" for k in range(hops)])
    ax.xaxis.tick_top()
    ax.set_yticks(range(rows), list(sentences), fontsize=8)
    said = f"answer: {answer}" + ("" if truth is None else f" (correct: {truth})")
    ax.set_xlabel(f"{question}\n{said}", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


# ---- time series and images --------------------------------------------------------------------------------------


def _class_colours(n: int) -> list:
    return [plt.get_cmap("tab10")(i % 10) for i in range(n)]


def plot_series_examples(series: Sequence[Sequence[float]], labels: Sequence[int], class_names: Sequence[str],
                         path: str | Path, *, per_class: int = 3, title: str = "") -> plt.Figure:
    """A few series of each class, one panel per class (look at the data before modelling it)."""
    n = len(class_names)
    fig, axes = plt.subplots(n, 1, figsize=(7, 1.2 + 1.3 * n), sharex=True, squeeze=False)
    for c, (ax, colour) in enumerate(zip(axes[:, 0], _class_colours(n), strict=True)):
        shown = [s for s, y in zip(series, labels, strict=True) if y == c][:per_class]
        for s in shown:
            ax.plot(np.asarray(s, dtype=float), color=colour, lw=0.9, alpha=0.8)
        ax.set_ylabel(str(class_names[c]), rotation=0, ha="right", va="center", fontsize=8)
    axes[-1, 0].set_xlabel("time step")
    fig.suptitle(title or f"{per_class} examples per class", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def plot_class_means(series: Sequence[Sequence[float]], labels: Sequence[int], class_names: Sequence[str],
                     path: str | Path, *, title: str = "") -> plt.Figure:
    """Each class's mean series with a band of one standard deviation (steps past a series' end are ignored)."""
    fig, ax = plt.subplots(figsize=(7, 3.4))
    length = max(len(s) for s in series)
    for c, colour in enumerate(_class_colours(len(class_names))):
        rows = [np.pad(np.asarray(s, dtype=float), (0, length - len(s)), constant_values=np.nan)
                for s, y in zip(series, labels, strict=True) if y == c]
        if not rows:
            continue
        stack = np.vstack(rows)
        mean, std = np.nanmean(stack, 0), np.nanstd(stack, 0)
        steps = np.arange(length)
        ax.plot(steps, mean, color=colour, lw=1.4, label=f"{class_names[c]} (n={len(rows)})")
        ax.fill_between(steps, mean - std, mean + std, color=colour, alpha=0.18, lw=0)
    ax.set_xlabel("time step")
    ax.legend(fontsize=8, loc="best")
    ax.set_title(title or "class means ± 1 standard deviation", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def plot_series_attention(values: Sequence[float], attention: Sequence[float], path: str | Path, *,
                          title: str = "") -> plt.Figure:
    """A series (line) over the attention each time step receives (shaded bars behind it)."""
    values, attention = np.asarray(values, dtype=float), np.asarray(attention, dtype=float)
    fig, ax = plt.subplots(figsize=(7, 2.8))
    bars = ax.twinx()
    bars.bar(np.arange(len(attention)), attention, width=1.0, color="tab:orange", alpha=0.35)
    bars.set_ylabel("attention received", color="tab:orange", fontsize=8)
    ax.plot(values, color="tab:blue", lw=1.2)
    ax.set_zorder(bars.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.set_xlabel("time step")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def plot_patch_attention(images: Sequence[np.ndarray], maps: Sequence[np.ndarray], captions: Sequence[str],
                         path: str | Path) -> plt.Figure:
    """Images (top row) and the [CLS] token's attention over their patches, upsampled to the image (bottom row)."""
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(1.9 * n, 4.0), squeeze=False)
    for i, (image, grid, caption) in enumerate(zip(images, maps, captions, strict=True)):
        image, grid = np.asarray(image, dtype=float), np.asarray(grid, dtype=float)
        axes[0, i].imshow(image, cmap="gray")
        axes[0, i].set_title(caption, fontsize=8)
        scale = (image.shape[0] // grid.shape[0], image.shape[1] // grid.shape[1])
        axes[1, i].imshow(image, cmap="gray")
        axes[1, i].imshow(np.kron(grid, np.ones(scale)), cmap="inferno", alpha=0.6)
        for ax in axes[:, i]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[1, 0].set_ylabel("[CLS] attention", fontsize=8)
    fig.tight_layout()
    return _save(fig, path)
