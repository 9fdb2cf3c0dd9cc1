"""The streaming contract every metric follows: accumulate per batch, compute once, reset to reuse.

    metric = SomeMetric(...)
    for batch in loader:
        metric.update(predictions, targets)   # keeps sufficient statistics, not the predictions
    result = metric.compute()                  # float, or a dict of named values
    metric.reset()
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class Metric(ABC):
    """A metric over a stream of batches. Subclasses keep only the statistics they need
    (counts, sums); a metric that truly needs every score (ROC-AUC) says so in its docstring."""

    def __init__(self) -> None:
        self.reset()

    @abstractmethod
    def reset(self) -> None:
        """Forget everything seen so far."""

    @abstractmethod
    def update(self, *args: Any, **kwargs: Any) -> None:
        """Add one batch."""

    @abstractmethod
    def compute(self) -> Any:
        """The value over everything since the last reset."""
