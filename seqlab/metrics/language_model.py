"""Language-model metrics from summed log-likelihoods: perplexity and bits per character (or token).

With L the sum of natural-log likelihoods log p(x_i | x_<i) over n units (tokens, characters, bytes):

    perplexity = exp(-L / n)              bits per unit = -L / (n ln 2)

Both are streaming: ``update(log_likelihood, count)`` adds a batch's summed log-likelihood and the
number of units it covers, so a corpus is scored exactly however it is batched. Bits per *character*
counts characters in ``count``; pass token counts instead and the same number is bits per token.

A unit given probability 0 (log-likelihood -inf) makes the corpus perplexity and bits per unit
``inf``, as the definitions say. NaN or +inf log-likelihoods and negative counts raise MetricError, and so does
``compute()`` before any unit has been counted.
"""

from __future__ import annotations

import math
from typing import Any

from seqlab.metrics.base import Metric
from seqlab.metrics.sequence import MetricError


class _LogLikelihood(Metric):
    """Sums log-likelihoods and unit counts; subclasses turn the mean into their number."""

    def reset(self) -> None:
        self.log_likelihood = 0.0
        self.count = 0

    def update(self, log_likelihood: Any, count: int) -> None:
        """``log_likelihood``: a float, or a tensor/array that is summed (e.g. per-token log-probs of
        the ``count`` tokens counted); natural log."""
        if hasattr(log_likelihood, "sum"):
            log_likelihood = log_likelihood.sum()
        value = float(log_likelihood)
        if math.isnan(value) or value == math.inf:
            raise MetricError(f"log-likelihood is {value}; expected a finite number or -inf")
        if int(count) != count or count < 0:
            raise MetricError(f"count must be a whole number >= 0, got {count}")
        self.log_likelihood += value
        self.count += int(count)

    def mean_nll(self) -> float:
        """Mean negative log-likelihood per unit, in nats."""
        if not self.count:
            raise MetricError(f"{type(self).__name__} of no units: update() with a count > 0 first")
        return -self.log_likelihood / self.count


class Perplexity(_LogLikelihood):
    """exp(-sum log p / n); inf when some unit had probability 0."""

    def compute(self) -> float:
        try:
            return math.exp(self.mean_nll())
        except OverflowError:  # mean NLL above ~709 nats: perplexity beyond the float range
            return math.inf


class BitsPerCharacter(_LogLikelihood):
    """-sum log p / (n ln 2): bits per character, or per token when ``count`` counts tokens."""

    def compute(self) -> float:
        return self.mean_nll() / math.log(2)


def perplexity(log_likelihood: Any, count: int) -> float:
    """One-shot :class:`Perplexity` from a summed natural-log likelihood over ``count`` units."""
    metric = Perplexity()
    metric.update(log_likelihood, count)
    return metric.compute()


def bits_per_character(log_likelihood: Any, count: int) -> float:
    """One-shot :class:`BitsPerCharacter` from a summed natural-log likelihood over ``count`` units."""
    metric = BitsPerCharacter()
    metric.update(log_likelihood, count)
    return metric.compute()
