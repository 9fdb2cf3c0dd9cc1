"""Plots: learning curves, attention heatmaps, confusion matrices, ROC and precision-recall curves."""

from seqlab.viz.plots import (
    normalize_rows,
    plot_attention,
    plot_confusion_matrix,
    plot_learning_curve,
    plot_pr_curve,
    plot_roc_curve,
)

__all__ = ["normalize_rows", "plot_attention", "plot_confusion_matrix", "plot_learning_curve", "plot_pr_curve",
           "plot_roc_curve"]
