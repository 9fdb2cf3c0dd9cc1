"""Classification metrics from a confusion matrix: accuracy, precision, recall (= sensitivity = TPR),
specificity (= TNR), false-positive rate and F-beta, per class and macro / micro / weighted averaged.

    cm = confusion_matrix(y_true, y_pred)                 # (K, K) int64, rows = true, columns = predicted
    f1_score(y_true, y_pred, average="macro")             # one number
    report = classification_report(y_true, y_pred, beta=2.0)
    report.rows()                                         # one dict per class + the three averages: a table

    metric = ConfusionMatrixMetric()                      # the same, streamed over batches
    for logits, labels in loader:
        metric.update(logits, labels)                     # (B, C) scores -> argmax; or labels; or 1-D scores
    report = metric.compute()

The numbers are scikit-learn's to the last digit (same counts, same float64 divisions, same averaging;
tests/test_metrics_classification.py compares them on random inputs). Conventions, all as scikit-learn:

- Labels are sorted unless ``labels`` is given; ``confusion_matrix(labels=...)`` keeps only examples whose
  true and predicted labels are both listed. The per-class metrics count every example (a label outside
  ``labels`` still makes a false positive / negative for the listed ones), as sklearn does.
- For class k:  TP = C[k, k],  FP = column k sum - TP,  FN = row k sum - TP,  TN = the rest.
      precision = TP / (TP + FP)        recall = sensitivity = TPR = TP / (TP + FN)
      specificity = TNR = TN / (TN + FP)    false_positive_rate = FP / (FP + TN)
      F-beta = (1 + b²) TP / ((1 + b²) TP + b² FN + FP)     (beta=0 -> precision, beta=inf -> recall)
- A ratio with a zero denominator (a class never predicted -> its precision; a class absent from y_true ->
  its recall) is ``zero_division``: 0.0 by default, or 1.0, or nan (nan values are left out of averages).
- ``average``: None -> one value per class (a numpy array, in label order); "binary" -> the value for
  ``pos_label`` (at most two labels in y_true ∪ y_pred); "macro" -> the unweighted mean over classes;
  "weighted" -> the mean weighted by support (true count per class); "micro" -> the ratio of the summed
  counts (for precision / recall / F over all classes of a single-label problem it equals accuracy).
  Specificity and FPR have no sklearn function; they are averaged by the same rules.
- Inputs: torch tensors, numpy arrays or lists, one label per example; empty inputs raise ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
import torch

from seqlab.metrics.base import Metric

Average = Literal["binary", "micro", "macro", "weighted"] | None
AVERAGES = (None, "binary", "micro", "macro", "weighted")


# --------------------------------------------------------------------------------------------- inputs


def as_numpy(x: Any) -> np.ndarray:
    """A torch tensor (any device; bfloat16 widened to float32), numpy array or list as a numpy array."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dtype == torch.bfloat16:
            x = x.float()
        return x.numpy()
    return np.asarray(x)


def labels_1d(y: Any, name: str) -> np.ndarray:
    """One label per example, as a non-empty 1-D numpy array."""
    y = as_numpy(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per example), got shape {tuple(y.shape)}")
    if y.size == 0:
        raise ValueError(f"{name} is empty: a metric needs at least one example")
    return y


def check_same_length(a: np.ndarray, b: np.ndarray, names: str) -> None:
    if len(a) != len(b):
        raise ValueError(f"{names} have different lengths: {len(a)} and {len(b)}")


def _check_zero_division(zero_division: float) -> float:
    if not (zero_division in (0.0, 1.0) or np.isnan(zero_division)):
        raise ValueError(f"zero_division must be 0.0, 1.0 or nan, got {zero_division!r}")
    return float(zero_division)


def _check_beta(beta: float) -> float:
    if not beta >= 0:
        raise ValueError(f"beta must be >= 0 (0 gives precision, inf gives recall), got {beta!r}")
    return beta


# --------------------------------------------------------------------------------------------- counts


def _embed(cm: np.ndarray, classes: np.ndarray, into: np.ndarray) -> np.ndarray:
    """The (K, K) matrix over `classes` placed into a zero matrix over the sorted superset `into`."""
    out = np.zeros((len(into), len(into)), dtype=np.int64)
    i = np.searchsorted(into, classes)
    out[np.ix_(i, i)] = cm
    return out


def _full_confusion(y_true: np.ndarray, y_pred: np.ndarray, extra: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """(classes, cm): the sorted union of the labels seen (and `extra`), and the confusion matrix over all of
    them, so no example is dropped."""
    parts = [y_true, y_pred] if extra is None else [y_true, y_pred, np.asarray(extra)]
    classes = np.unique(np.concatenate(parts))
    k = len(classes)
    t = np.searchsorted(classes, y_true)
    p = np.searchsorted(classes, y_pred)
    cm = np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)
    return classes, cm


def _label_index(classes: np.ndarray, labels: Any) -> np.ndarray:
    """Positions of `labels` (all in `classes`) in `classes`; duplicates are an error."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"labels must be a non-empty list of labels, got {labels!r}")
    if len(np.unique(labels)) != len(labels):
        raise ValueError(f"labels has duplicates: {labels.tolist()}")
    return np.searchsorted(classes, labels)


@dataclass(frozen=True)
class _Counts:
    """TP, FP, FN, TN per class (int64 arrays in label order)."""

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tn: np.ndarray

    @classmethod
    def from_confusion_matrix(cls, cm: np.ndarray, index: np.ndarray) -> _Counts:
        tp = np.diag(cm)
        fp = cm.sum(axis=0) - tp
        fn = cm.sum(axis=1) - tp
        tn = cm.sum() - tp - fp - fn
        return cls(tp[index], fp[index], fn[index], tn[index])

    @property
    def support(self) -> np.ndarray:
        return self.tp + self.fn

    def summed(self) -> _Counts:
        """The micro-average counts: one 'class' holding the sums."""
        return _Counts(*(np.atleast_1d(a.sum()) for a in (self.tp, self.fp, self.fn, self.tn)))


def _ratio(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    """num / den in float64, with `zero_division` where den == 0 (sklearn's _prf_divide)."""
    den = np.asarray(den, dtype=np.float64)
    zero = den == 0
    den[zero] = 1.0
    out = np.asarray(num, dtype=np.float64) / den
    out[zero] = zero_division
    return out


def _precision(c: _Counts, zero_division: float) -> np.ndarray:
    return _ratio(c.tp, c.tp + c.fp, zero_division)


def _recall(c: _Counts, zero_division: float) -> np.ndarray:
    return _ratio(c.tp, c.tp + c.fn, zero_division)


def _specificity(c: _Counts, zero_division: float) -> np.ndarray:
    return _ratio(c.tn, c.tn + c.fp, zero_division)


def _false_positive_rate(c: _Counts, zero_division: float) -> np.ndarray:
    return _ratio(c.fp, c.fp + c.tn, zero_division)


def _f_beta(c: _Counts, zero_division: float, beta: float) -> np.ndarray:
    if np.isposinf(beta):
        return _recall(c, zero_division)
    if beta == 0:
        return _precision(c, zero_division)
    beta2 = beta**2
    den = beta2 * (c.tp + c.fn).astype(np.float64) + (c.tp + c.fp).astype(np.float64)
    return _ratio((1 + beta2) * c.tp.astype(np.float64), den, zero_division)


def _mean(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The (weighted) mean ignoring nan values, in sklearn's order of operations (_nanaverage)."""
    nan = np.isnan(values)
    if values.size == 0 or nan.all():
        return float("nan")
    if weights is None:
        return float(np.nanmean(values))
    v, w = values[~nan], np.asarray(weights, dtype=np.float64)[~nan]
    total = np.sum(w)
    if total == 0:  # every class with a value has zero support: fall back to the plain mean
        return float(np.mean(v))
    return float(np.sum(v * w) / total)


def _reduce(counts: _Counts, per_class: Any, average: Average, zero_division: float) -> float | np.ndarray:
    """Apply `per_class` (counts -> array) and reduce the result as `average` says."""
    if average == "micro":
        return _mean(per_class(counts.summed(), zero_division))
    values = per_class(counts, zero_division)
    if average is None:
        return values
    return _mean(values, counts.support if average == "weighted" else None)


def _counts_for(y_true: Any, y_pred: Any, labels: Any, average: Average, pos_label: Any) -> _Counts:
    """Validate the inputs and count TP/FP/FN/TN for the labels the average looks at."""
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
    y_true, y_pred = labels_1d(y_true, "y_true"), labels_1d(y_pred, "y_pred")
    check_same_length(y_true, y_pred, "y_true and y_pred")
    if average == "binary":
        present = np.unique(np.concatenate([y_true, y_pred]))
        if len(present) > 2:
            raise ValueError(f"average='binary' needs at most two labels, got {len(present)}: "
                             f"use average='macro', 'micro', 'weighted' or None")
        if len(present) == 2 and pos_label not in present:
            raise ValueError(f"pos_label={pos_label!r} is not one of the labels {present.tolist()}")
        labels = [pos_label]
    classes, cm = _full_confusion(y_true, y_pred, labels)
    index = np.arange(len(classes)) if labels is None else _label_index(classes, labels)
    return _Counts.from_confusion_matrix(cm, index)


# ------------------------------------------------------------------------------------------ functions


def confusion_matrix(y_true: Any, y_pred: Any, *, labels: Sequence | None = None) -> np.ndarray:
    """(K, K) int64 counts, C[i, j] = examples of true label i predicted as j, over the sorted labels of
    y_true ∪ y_pred, or over `labels` in that order (examples with other labels are left out)."""
    y_true, y_pred = labels_1d(y_true, "y_true"), labels_1d(y_pred, "y_pred")
    check_same_length(y_true, y_pred, "y_true and y_pred")
    classes, cm = _full_confusion(y_true, y_pred, labels)
    if labels is None:
        return cm
    index = _label_index(classes, labels)
    return cm[np.ix_(index, index)]


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of examples whose predicted label is the true one."""
    y_true, y_pred = labels_1d(y_true, "y_true"), labels_1d(y_pred, "y_pred")
    check_same_length(y_true, y_pred, "y_true and y_pred")
    return float(np.count_nonzero(y_true == y_pred)) / len(y_true)


def precision(y_true: Any, y_pred: Any, *, labels: Sequence | None = None, average: Average = "binary",
              pos_label: Any = 1, zero_division: float = 0.0) -> float | np.ndarray:
    """TP / (TP + FP): of the examples predicted as the class, the fraction that are."""
    counts = _counts_for(y_true, y_pred, labels, average, pos_label)
    return _reduce(counts, _precision, average, _check_zero_division(zero_division))


def recall(y_true: Any, y_pred: Any, *, labels: Sequence | None = None, average: Average = "binary",
           pos_label: Any = 1, zero_division: float = 0.0) -> float | np.ndarray:
    """TP / (TP + FN), also called sensitivity or true-positive rate: of the class's examples, the fraction found."""
    counts = _counts_for(y_true, y_pred, labels, average, pos_label)
    return _reduce(counts, _recall, average, _check_zero_division(zero_division))


sensitivity = recall
true_positive_rate = recall


def specificity(y_true: Any, y_pred: Any, *, labels: Sequence | None = None, average: Average = "binary",
                pos_label: Any = 1, zero_division: float = 0.0) -> float | np.ndarray:
    """TN / (TN + FP), the true-negative rate: of the examples not of the class, the fraction not predicted as it.
    For two labels, the specificity of one is the recall of the other."""
    counts = _counts_for(y_true, y_pred, labels, average, pos_label)
    return _reduce(counts, _specificity, average, _check_zero_division(zero_division))


true_negative_rate = specificity


def false_positive_rate(y_true: Any, y_pred: Any, *, labels: Sequence | None = None, average: Average = "binary",
                        pos_label: Any = 1, zero_division: float = 0.0) -> float | np.ndarray:
    """FP / (FP + TN): of the examples not of the class, the fraction predicted as it (1 - specificity)."""
    counts = _counts_for(y_true, y_pred, labels, average, pos_label)
    return _reduce(counts, _false_positive_rate, average, _check_zero_division(zero_division))


def f_beta_score(y_true: Any, y_pred: Any, *, beta: float, labels: Sequence | None = None,
                 average: Average = "binary", pos_label: Any = 1, zero_division: float = 0.0) -> float | np.ndarray:
    """(1 + b²) P R / (b² P + R) = (1 + b²) TP / ((1 + b²) TP + b² FN + FP): recall weighted b times as much as
    precision. zero_division applies only when TP + FN + FP = 0 (sklearn's fbeta_score)."""
    beta = _check_beta(beta)
    counts = _counts_for(y_true, y_pred, labels, average, pos_label)
    zero_division = _check_zero_division(zero_division)
    return _reduce(counts, partial(_f_beta, beta=beta), average, zero_division)


def f1_score(y_true: Any, y_pred: Any, *, labels: Sequence | None = None, average: Average = "binary",
             pos_label: Any = 1, zero_division: float = 0.0) -> float | np.ndarray:
    """The harmonic mean of precision and recall: f_beta_score with beta = 1."""
    return f_beta_score(y_true, y_pred, beta=1.0, labels=labels, average=average, pos_label=pos_label,
                        zero_division=zero_division)


# ---------------------------------------------------------------------------------------------- report

_PER_CLASS = {
    "precision": _precision,
    "recall": _recall,
    "specificity": _specificity,
    "false_positive_rate": _false_positive_rate,
}


@dataclass(frozen=True, eq=False)
class ClassificationReport:
    """Every count-based number for a set of labels, ready to print as a table (``rows()``) or save
    (``to_dict()``). Per-class arrays are in the order of ``labels``; ``averages[name][metric]`` holds the
    "macro", "micro" and "weighted" averages of "precision", "recall", "specificity", "false_positive_rate"
    and "f_score" (F-beta with this ``beta``)."""

    labels: list
    confusion_matrix: np.ndarray  # (K, K) over labels, rows = true, columns = predicted
    support: np.ndarray  # (K,) true examples per class
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tn: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    specificity: np.ndarray
    false_positive_rate: np.ndarray
    f_score: np.ndarray
    beta: float
    accuracy: float  # over all examples, whatever `labels` selects
    num_examples: int
    averages: dict[str, dict[str, float]]

    @classmethod
    def from_confusion_matrix(cls, cm: Any, classes: Any, *, labels: Sequence | None = None, beta: float = 1.0,
                              zero_division: float = 0.0) -> ClassificationReport:
        """The report from a full confusion matrix `cm` over `classes` (every example counted), restricted to
        `labels` (default: all classes; a label not in `classes` gets zero counts)."""
        beta, zero_division = _check_beta(beta), _check_zero_division(zero_division)
        cm, classes = np.asarray(cm, dtype=np.int64), np.asarray(classes)
        if cm.ndim != 2 or cm.shape != (len(classes), len(classes)):
            raise ValueError(f"confusion matrix of shape {cm.shape} does not fit {len(classes)} classes")
        n = int(cm.sum())
        if n == 0:
            raise ValueError("the confusion matrix is empty: a report needs at least one example")
        if labels is not None:
            merged = np.union1d(classes, np.asarray(labels))
            cm, classes = _embed(cm, classes, merged), merged
        index = np.arange(len(classes)) if labels is None else _label_index(classes, labels)
        counts = _Counts.from_confusion_matrix(cm, index)
        per_class = {name: fn(counts, zero_division) for name, fn in _PER_CLASS.items()}
        per_class["f_score"] = _f_beta(counts, zero_division, beta)
        f_beta = partial(_f_beta, beta=beta)
        averages = {
            average: {name: _reduce(counts, fn, average, zero_division)
                      for name, fn in [*_PER_CLASS.items(), ("f_score", f_beta)]}
            for average in ("macro", "micro", "weighted")
        }
        return cls(labels=classes[index].tolist(), confusion_matrix=cm[np.ix_(index, index)],
                   support=counts.support, tp=counts.tp, fp=counts.fp, fn=counts.fn, tn=counts.tn,
                   beta=float(beta), accuracy=float(np.trace(cm)) / n, num_examples=n, averages=averages,
                   **per_class)

    def row(self, label: Any) -> dict[str, Any]:
        """One class's numbers as a dict (label, the metrics, support)."""
        i = self.labels.index(label)
        return {"label": label, **{m: float(getattr(self, m)[i]) for m in self.metric_names},
                "support": int(self.support[i])}

    @property
    def metric_names(self) -> tuple[str, ...]:
        return ("precision", "recall", "specificity", "false_positive_rate", "f_score")

    def rows(self) -> list[dict[str, Any]]:
        """A table: one row per class, then "macro avg", "micro avg" and "weighted avg" (support = all
        examples of the listed classes); accuracy is a separate field."""
        rows = [self.row(label) for label in self.labels]
        total = int(self.support.sum())
        rows += [{"label": f"{name} avg", **self.averages[name], "support": total}
                 for name in ("macro", "micro", "weighted")]
        return rows

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: plain lists, ints and floats."""
        return {"labels": self.labels, "confusion_matrix": self.confusion_matrix.tolist(), "beta": self.beta,
                "accuracy": self.accuracy, "num_examples": self.num_examples, "rows": self.rows()}


def classification_report(y_true: Any, y_pred: Any, *, labels: Sequence | None = None, beta: float = 1.0,
                          zero_division: float = 0.0) -> ClassificationReport:
    """All per-class metrics, their macro / micro / weighted averages and the accuracy in one pass."""
    y_true, y_pred = labels_1d(y_true, "y_true"), labels_1d(y_pred, "y_pred")
    check_same_length(y_true, y_pred, "y_true and y_pred")
    classes, cm = _full_confusion(y_true, y_pred)
    return ClassificationReport.from_confusion_matrix(cm, classes, labels=labels, beta=beta,
                                                      zero_division=zero_division)


# --------------------------------------------------------------------------------------------- streaming


class ConfusionMatrixMetric(Metric):
    """A confusion matrix accumulated over batches; ``compute()`` gives the ``ClassificationReport``.

    ``update(predictions, targets)`` takes targets as labels (N,) and predictions as
      - (N, C) scores (logits or probabilities): the predicted class is the argmax (the first on ties), and
        all C classes 0..C-1 enter the report even when never seen;
      - (N,) scores of the positive class when ``threshold`` is set: predicted 1 where score >= threshold,
        else 0 (targets must then be 0/1); probabilities use 0.5, logits 0.0;
      - (N,) labels otherwise (any dtype: with ``threshold=None`` floats are labels, not scores).
    Only the counts are kept. The label set grows as new labels appear, so the result equals
    ``classification_report`` on all batches at once. ``labels`` restricts (and orders) the report as there.
    """

    def __init__(self, *, labels: Sequence | None = None, threshold: float | None = None, beta: float = 1.0,
                 zero_division: float = 0.0) -> None:
        self.labels = None if labels is None else list(labels)
        self.threshold = threshold
        self.beta = _check_beta(beta)
        self.zero_division = _check_zero_division(zero_division)
        super().__init__()

    def reset(self) -> None:
        self._classes: np.ndarray | None = None
        self._cm: np.ndarray | None = None

    def _predicted_labels(self, predictions: Any) -> tuple[np.ndarray, np.ndarray | None]:
        p = as_numpy(predictions)
        if p.size == 0:
            raise ValueError("predictions is empty: a metric needs at least one example")
        if p.ndim == 2:
            if np.isnan(p).any():
                raise ValueError("predictions contain NaN scores")
            return p.argmax(axis=1), np.arange(p.shape[1])
        if p.ndim != 1:
            raise ValueError(f"predictions must be (N,) labels or scores or (N, C) scores, got shape {p.shape}")
        if self.threshold is None:
            return p, None
        if np.isnan(p).any():
            raise ValueError("predictions contain NaN scores")
        return (p >= self.threshold).astype(np.int64), np.array([0, 1])

    def update(self, predictions: Any, targets: Any) -> None:
        y_true = labels_1d(targets, "targets")
        y_pred, implied = self._predicted_labels(predictions)
        check_same_length(y_pred, y_true, "predictions and targets")
        classes, cm = _full_confusion(y_true, y_pred, implied)
        if self._classes is None:
            self._classes, self._cm = classes, cm
            return
        merged = np.union1d(self._classes, classes)
        self._cm = _embed(self._cm, self._classes, merged) + _embed(cm, classes, merged)
        self._classes = merged

    @property
    def confusion_matrix(self) -> np.ndarray:
        """The accumulated (K, K) counts over every label seen so far (sorted), rows = true."""
        if self._cm is None:
            raise ValueError("no examples yet: call update() first")
        return self._cm

    def compute(self) -> ClassificationReport:
        return ClassificationReport.from_confusion_matrix(self.confusion_matrix, self._classes, labels=self.labels,
                                                          beta=self.beta, zero_division=self.zero_division)
