"""Evaluation metrics, one function or class per metric."""

from seqlab.metrics.sequence import exact_match

__all__ = ["exact_match"]
