"""Plots: learning curves, attention heatmaps, confusion matrices, ROC and precision-recall curves, gradient
norms through time (the vanishing gradient).

Imported on first use (matplotlib and torch are slow to load), so `seqlab viz --help` starts at once.
"""

from __future__ import annotations

from seqlab.lazy import lazy_getattr

_HOME = {
    "normalize_rows": "plots", "plot_attention": "plots", "plot_attention_heads": "plots",
    "plot_confusion_matrix": "plots",
    "plot_learning_curve": "plots", "plot_memory_hops": "plots", "plot_pr_curve": "plots", "plot_roc_curve": "plots",
    "plot_class_means": "plots", "plot_patch_attention": "plots", "plot_series_attention": "plots",
    "plot_series_examples": "plots",
    "gradient_norms": "gradients", "plot_gradient_norms": "gradients",
}

__all__ = sorted(_HOME)


__getattr__ = lazy_getattr("seqlab.viz", {name: f"seqlab.viz.{home}" for name, home in _HOME.items()})
