"""Plots: learning curves, attention heatmaps."""

from seqlab.viz.plots import plot_attention, plot_learning_curve

__all__ = ["plot_attention", "plot_learning_curve"]
