"""Metrics over output sequences: exact match, token accuracy, and CoNLL span precision/recall/F1.

    exact_match(predictions, references)        whole outputs identical
    TokenAccuracy(ignore_index=-100)            per-token accuracy, padding ignored
    SpanF1(scheme="iob2")                       entity-level P/R/F1 per type, micro/macro/weighted averages

How ``SpanF1`` reads tags, and which seqeval call gives the same numbers:

    scheme="iob1" or "iob2"   conlleval rules, lenient: an entity starts at B-, and also at an I- after O
                              or after a tag of another type ("O I-PER I-PER" is one PER entity).
                              = seqeval's default mode: ``f1_score(y_true, y_pred)`` (no ``mode``).
    scheme="iobes"            strict: an entity is S-X alone or B-X I-X* E-X, nothing else; ill-formed
                              pieces ("B-PER O", "I-PER E-PER" without a B-) are not entities at all.
                              = seqeval ``f1_score(..., mode="strict", scheme=IOBES)``.

A predicted entity is correct when its type, start and end all equal a reference entity's.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from seqlab.errors import SeqlabError
from seqlab.metrics.base import Metric
from seqlab.text.tags import tags_to_spans


class MetricError(SeqlabError, ValueError):
    """Inputs a metric cannot score (misaligned lengths, unknown tags) or nothing to score yet."""


def exact_match(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Fraction of outputs identical to their reference (0.0 for no examples)."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    if not references:
        return 0.0
    return sum(p == r for p, r in zip(predictions, references, strict=True)) / len(references)


# --------------------------------------------------------------------------- token accuracy

class TokenAccuracy(Metric):
    """Fraction of tokens predicted right, skipping targets equal to ``ignore_index`` (padding, -100).

    ``update(predictions, targets)``: targets (B, T) class ids; predictions (B, T) ids, or (B, T, C)
    scores whose argmax is taken. Tensors, arrays or nested lists. ``compute()`` raises MetricError when
    no token has been counted (everything ignored, or no update).
    """

    def __init__(self, ignore_index: int = -100):
        self.ignore_index = ignore_index
        super().__init__()

    def reset(self) -> None:
        self.correct = 0
        self.total = 0

    def update(self, predictions: Any, targets: Any) -> None:
        import torch  # lazily: importing seqlab.metrics must not load torch

        predictions, targets = torch.as_tensor(predictions), torch.as_tensor(targets)
        if predictions.dim() == targets.dim() + 1:
            predictions = predictions.argmax(-1)
        if predictions.shape != targets.shape:
            raise MetricError(f"predictions of shape {tuple(predictions.shape)} for targets of shape "
                              f"{tuple(targets.shape)}")
        counted = targets != self.ignore_index
        self.correct += int(((predictions == targets) & counted).sum())
        self.total += int(counted.sum())

    def compute(self) -> float:
        if not self.total:
            raise MetricError("token accuracy of no tokens: every target was ignore_index, or no update")
        return self.correct / self.total


def token_accuracy(predictions: Any, targets: Any, ignore_index: int = -100) -> float:
    """One-shot :class:`TokenAccuracy`."""
    metric = TokenAccuracy(ignore_index)
    metric.update(predictions, targets)
    return metric.compute()


# --------------------------------------------------------------------------- span F1

SPAN_SCHEMES = {"iob1": "BIO", "iob2": "BIO", "iobes": "BIOES"}  # scheme -> the prefixes it allows
Span = tuple[str, int, int]  # (type, start, end exclusive)


def _parse(tags: Sequence[str], scheme: str) -> list[tuple[str, str]]:
    """(prefix, type) per tag; raises MetricError for a tag the scheme does not have."""
    allowed = SPAN_SCHEMES[scheme]
    parsed = []
    for tag in tags:
        prefix, dash, kind = tag.partition("-")
        if tag == "O":
            parsed.append(("O", ""))
        elif dash and kind and len(prefix) == 1 and prefix in allowed:
            parsed.append((prefix, kind))
        else:
            tags_allowed = ", ".join(f"{p}-TYPE" for p in allowed if p != "O")
            raise MetricError(f"tag {tag!r} is not in the {scheme.upper()} scheme (O, {tags_allowed})")
    return parsed


def strict_iobes_spans(tags: Sequence[str]) -> list[Span]:
    """Well-formed IOBES entities only: S-X, or B-X followed by I-X* and closed by E-X."""
    parsed, spans, i = _parse(tags, "iobes"), [], 0
    while i < len(parsed):
        prefix, kind = parsed[i]
        if prefix == "S":
            spans.append((kind, i, i + 1))
        elif prefix == "B":
            j = i + 1
            while j < len(parsed) and parsed[j] == ("I", kind):
                j += 1
            if j < len(parsed) and parsed[j] == ("E", kind):
                spans.append((kind, i, j + 1))
                i = j
            else:
                i = j - 1  # resume at the tag that broke the entity: it may start the next one
        i += 1
    return spans


def entity_spans(tags: Sequence[str], scheme: str = "iob2") -> list[Span]:
    """The entities SpanF1 scores, by the rules in the module docstring."""
    if scheme not in SPAN_SCHEMES:
        raise MetricError(f"unknown tag scheme {scheme!r}; choose one of {', '.join(SPAN_SCHEMES)}")
    if scheme == "iobes":
        return strict_iobes_spans(tags)
    _parse(tags, scheme)  # only B-, I- and O: conlleval would read E-/S- as IOBES, silently
    return tags_to_spans(tags, scheme)


def _scores(tp: int, n_pred: int, n_true: int) -> tuple[float, float, float]:
    """Precision, recall, F1; a ratio with a zero denominator is 0.0, as in seqeval and conlleval."""
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _row(precision: float, recall: float, f1: float, support: int) -> dict[str, float | int]:
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


class SpanF1(Metric):
    """Entity-level precision, recall and F1, CoNLL style, per type and averaged (see module docstring).

    ``update(predictions, references)`` takes a batch of tag sequences (lists of strings such as "B-PER")
    and ``compute()`` returns::

        {"micro":    {"precision", "recall", "f1", "support"},   # from the summed counts
         "macro":    {...},  # unweighted mean over types seen in references or predictions
         "weighted": {...},  # mean weighted by each type's reference count
         "per_type": {"PER": {...}, ...}}                          # types sorted by name

    "support" is the number of reference entities. The numbers equal seqeval's classification_report,
    including its edge cases: with no entity anywhere, micro and weighted scores are 0.0 and macro ones
    are NaN (a mean over no types).
    """

    def __init__(self, scheme: str = "iob2"):
        if scheme not in SPAN_SCHEMES:
            raise MetricError(f"unknown tag scheme {scheme!r}; choose one of {', '.join(SPAN_SCHEMES)}")
        self.scheme = scheme
        super().__init__()

    def reset(self) -> None:
        self.true_positives: Counter[str] = Counter()
        self.predicted: Counter[str] = Counter()
        self.actual: Counter[str] = Counter()
        self.sentences = 0

    def update(self, predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> None:
        if len(predictions) != len(references):
            raise MetricError(f"{len(predictions)} predicted sequences for {len(references)} references")
        for i, (pred_tags, ref_tags) in enumerate(zip(predictions, references, strict=True)):
            if isinstance(pred_tags, str) or isinstance(ref_tags, str):
                raise MetricError("each prediction and reference is a sequence of tags, not a string")
            if len(pred_tags) != len(ref_tags):
                raise MetricError(f"sequence {i}: {len(pred_tags)} predicted tags for {len(ref_tags)} reference tags")
            pred = set(entity_spans(pred_tags, self.scheme))
            true = set(entity_spans(ref_tags, self.scheme))
            self.predicted.update(kind for kind, _, _ in pred)
            self.actual.update(kind for kind, _, _ in true)
            self.true_positives.update(kind for kind, _, _ in pred & true)
        self.sentences += len(references)

    def compute(self) -> dict[str, Any]:
        if not self.sentences:
            raise MetricError("span F1 of no sentences: call update() first")
        types = sorted(self.predicted.keys() | self.actual.keys())
        per_type = {t: _row(*_scores(self.true_positives[t], self.predicted[t], self.actual[t]), self.actual[t])
                    for t in types}
        support = sum(self.actual.values())
        micro = _scores(sum(self.true_positives.values()), sum(self.predicted.values()), support)
        rows, columns = list(per_type.values()), ("precision", "recall", "f1")
        macro = [sum(row[c] for row in rows) / len(rows) if rows else math.nan for c in columns]
        weighted = [sum(row[c] * row["support"] for row in rows) / support if support else 0.0 for c in columns]
        return {"micro": _row(*micro, support), "macro": _row(*macro, support),
                "weighted": _row(*weighted, support), "per_type": per_type}


def span_f1(predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]],
            scheme: str = "iob2") -> dict[str, Any]:
    """One-shot :class:`SpanF1`."""
    metric = SpanF1(scheme)
    metric.update(predictions, references)
    return metric.compute()
