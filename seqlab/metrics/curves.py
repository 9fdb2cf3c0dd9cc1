"""Score-based metrics for a binary classifier: ROC curve and ROC-AUC (also one-vs-rest for C classes),
precision-recall curve and average precision, and choosing a decision threshold.

    fpr, tpr, thresholds = roc_curve(y_true, scores)          # scores: higher = more likely positive
    roc_auc_score(y_true, scores)                             # binary
    roc_auc_score(y_true, probs)                              # (N, C) scores: one-vs-rest, macro average
    precision, recall, thresholds = precision_recall_curve(y_true, scores)
    average_precision_score(y_true, scores)                   # PR-AUC as the step sum  Σ (R_n - R_{n-1}) P_n
    choice = youden_threshold(y_true, scores)                 # max TPR - FPR; choice.threshold, choice.tpr, ...

The points, thresholds and areas are scikit-learn's to the last digit (same sort, same cumulative counts,
same trapezoid and step sums; tests/test_metrics_classification.py compares them on random scores with ties).
Conventions, all as scikit-learn:

- An example is predicted positive when its score >= threshold; the thresholds are the distinct scores in
  decreasing order. ``roc_curve`` prepends the point (0, 0) with threshold +inf.
- ``roc_curve(drop_intermediate=True)`` (the default, as sklearn) drops points collinear with their
  neighbours, which changes neither the plotted curve nor the area; False keeps one point per distinct score.
  ``roc_auc_score`` integrates the dropped curve, as sklearn does. ``precision_recall_curve`` keeps every
  point by default (sklearn's default too); it ends with precision 1, recall 0 and has one threshold fewer.
- ``pos_label`` (default 1) names the positive class; y_true may hold at most two distinct labels.

Where we differ from scikit-learn, we raise ``ValueError`` where it would warn and return nan:
ROC needs both classes in y_true (sklearn: nan AUC / nan curve with a warning); the PR curve, average
precision and the F-beta threshold need at least one positive (sklearn sets recall to 1 with a warning).
Scores must be finite: NaN and +/-inf raise ``ValueError``, as in sklearn (clip or use finite logits).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from seqlab.metrics.base import Metric
from seqlab.metrics.classification import as_numpy, check_same_length, labels_1d


def _check_finite(scores: np.ndarray, name: str = "y_score") -> None:
    if np.isnan(scores).any():
        raise ValueError(f"{name} contains NaN: every example needs a score")
    if np.isinf(scores).any():
        raise ValueError(f"{name} contains +/-inf: scores must be finite (clip them or use finite logits)")


def _binary_inputs(y_true: Any, y_score: Any, pos_label: Any) -> tuple[np.ndarray, np.ndarray]:
    """(is_positive bool (N,), scores float64 (N,)) after validation."""
    y_true = labels_1d(y_true, "y_true")
    scores = as_numpy(y_score)
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    if scores.ndim != 1:
        raise ValueError(f"y_score must be 1-D, one score per example for the positive class; got shape "
                         f"{tuple(scores.shape)} (for (N, C) class scores use roc_auc_score's one-vs-rest)")
    check_same_length(y_true, scores, "y_true and y_score")
    scores = scores.astype(np.float64)
    _check_finite(scores)
    classes = np.unique(y_true)
    if len(classes) > 2:
        raise ValueError(f"y_true has {len(classes)} labels but a binary curve needs at most two: "
                         f"binarise it first (y_true == k for class k against the rest)")
    return y_true == pos_label, scores


def _require(is_pos: np.ndarray, *, positives: bool = True, negatives: bool = True, what: str) -> None:
    if positives and not is_pos.any():
        raise ValueError(f"{what} is undefined: y_true has no positive example (pos_label)")
    if negatives and is_pos.all():
        raise ValueError(f"{what} is undefined: y_true has only one class (no negative example)")


def _counts_at_thresholds(is_pos: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fps, tps, thresholds): false and true positives (float64) when predicting score >= threshold, for each
    distinct score in decreasing order (sklearn's confusion_matrix_at_thresholds)."""
    order = np.argsort(scores, kind="stable")[::-1]
    scores, is_pos = scores[order], is_pos[order]
    ends = np.r_[np.nonzero(np.diff(scores))[0], scores.size - 1]  # last index of each run of equal scores
    tps = np.cumsum(is_pos.astype(np.float64))[ends]
    fps = 1 + ends.astype(np.float64) - tps
    return fps, tps, scores[ends]


def roc_curve(y_true: Any, y_score: Any, *, pos_label: Any = 1,
              drop_intermediate: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds), float64, thresholds decreasing from +inf; fpr and tpr increasing from 0 to 1."""
    is_pos, scores = _binary_inputs(y_true, y_score, pos_label)
    _require(is_pos, what="the ROC curve")
    fps, tps, thresholds = _counts_at_thresholds(is_pos, scores)
    if drop_intermediate and len(fps) > 2:
        corner = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        fps, tps, thresholds = fps[corner], tps[corner], thresholds[corner]
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    return fps / fps[-1], tps / tps[-1], np.r_[np.inf, thresholds]


def _trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    """Area under the polyline through (x, y), x increasing: sklearn's auc (scipy's trapezoid)."""
    return float((np.diff(x) * (y[1:] + y[:-1]) / 2.0).sum())


def _binary_roc_auc(is_pos: np.ndarray, scores: np.ndarray) -> float:
    fpr, tpr, _ = roc_curve(is_pos, scores, pos_label=True)
    return _trapezoid(tpr, fpr)


def roc_auc_score(y_true: Any, y_score: Any, *, pos_label: Any = 1,
                  average: Literal["macro", "weighted", "micro"] = "macro", labels: Any = None) -> float:
    """Area under the ROC curve: the probability that a random positive scores above a random negative
    (ties count half).

    y_score (N,): binary, the score of ``pos_label``. y_score (N, C): one-vs-rest over C classes, column k
    scoring class k (the sorted labels of y_true, or ``labels`` in that order); each class's AUC against the
    rest is averaged: "macro" (plain mean, default), "weighted" (by class support) or "micro" (one AUC over
    all (example, class) pairs). Every class must occur in y_true. Unlike sklearn, rows need not sum to 1
    (one-vs-rest AUC only ranks each column, so logits give the same value as their softmax), and two
    columns are allowed (sklearn wants the positive column alone for two classes)."""
    scores = as_numpy(y_score)
    if scores.ndim == 2 and scores.shape[1] > 1:
        return _one_vs_rest_auc(y_true, scores, average, labels)
    is_pos, scores = _binary_inputs(y_true, scores, pos_label)
    _require(is_pos, what="ROC-AUC")
    return _binary_roc_auc(is_pos, scores)


def _one_vs_rest_auc(y_true: Any, scores: np.ndarray, average: str, labels: Any) -> float:
    if average not in ("macro", "weighted", "micro"):
        raise ValueError(f"average must be 'macro', 'weighted' or 'micro', got {average!r}")
    y_true = labels_1d(y_true, "y_true")
    check_same_length(y_true, scores, "y_true and y_score")
    scores = scores.astype(np.float64)
    _check_finite(scores)
    classes = np.unique(y_true) if labels is None else np.asarray(labels)
    if len(classes) != scores.shape[1]:
        raise ValueError(f"y_score has {scores.shape[1]} columns but there are {len(classes)} classes "
                         f"({classes.tolist()}); pass labels= naming one class per column")
    onehot = y_true[:, None] == classes[None, :]  # (N, C)
    if not onehot.any(axis=1).all():
        raise ValueError("y_true has labels that are not in labels=")
    missing = classes[~onehot.any(axis=0)]
    if len(missing):
        raise ValueError(f"one-vs-rest ROC-AUC is undefined: classes {missing.tolist()} never occur in y_true")
    if average == "micro":
        return _binary_roc_auc(onehot.ravel(), scores.ravel())
    per_class = np.array([_binary_roc_auc(onehot[:, k], scores[:, k]) for k in range(len(classes))])
    if average == "macro":
        return float(np.mean(per_class))
    support = onehot.sum(axis=0).astype(np.float64)
    return float(np.sum(per_class * support) / np.sum(support))


def precision_recall_curve(y_true: Any, y_score: Any, *, pos_label: Any = 1,
                           drop_intermediate: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, thresholds): thresholds increasing; precision and recall have one more entry,
    the final point (recall 0, precision 1). drop_intermediate=True keeps only the first and last point of
    each run with equal recall (sklearn's option)."""
    is_pos, scores = _binary_inputs(y_true, y_score, pos_label)
    _require(is_pos, negatives=False, what="the precision-recall curve")
    fps, tps, thresholds = _counts_at_thresholds(is_pos, scores)
    if drop_intermediate and len(fps) > 2:
        keep = np.r_[True, np.logical_or(np.diff(tps[:-1]), np.diff(tps[1:])), True]
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    precision = tps / (tps + fps)  # tps + fps >= 1: at least the example at the threshold is predicted positive
    recall = tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thresholds[::-1]


def average_precision_score(y_true: Any, y_score: Any, *, pos_label: Any = 1) -> float:
    """AP = Σ_n (R_n - R_{n-1}) P_n over the thresholds: the precision averaged over the recall levels, without
    the optimistic linear interpolation of a trapezoid (sklearn's average_precision_score)."""
    precision, recall, _ = precision_recall_curve(y_true, y_score, pos_label=pos_label)
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


# ------------------------------------------------------------------------------------------ thresholds


@dataclass(frozen=True)
class ThresholdChoice:
    """A decision threshold (predict positive when score >= threshold), the criterion it maximises and the
    counts and rates there. ``value`` is the criterion's value (J = TPR - FPR, or F-beta)."""

    threshold: float
    criterion: str
    value: float
    tp: int
    fp: int
    fn: int
    tn: int

    @staticmethod
    def _rate(num: int, den: int) -> float:
        return num / den if den else 0.0

    @property
    def precision(self) -> float:
        return self._rate(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        """= sensitivity = true-positive rate."""
        return self._rate(self.tp, self.tp + self.fn)

    tpr = recall

    @property
    def specificity(self) -> float:
        return self._rate(self.tn, self.tn + self.fp)

    @property
    def fpr(self) -> float:
        return self._rate(self.fp, self.fp + self.tn)


def _choice(criterion: str, values: np.ndarray, fps: np.ndarray, tps: np.ndarray, thresholds: np.ndarray,
            ) -> ThresholdChoice:
    best = int(np.argmax(values))  # the first maximum: the highest threshold among ties
    tp, fp = int(tps[best]), int(fps[best])
    return ThresholdChoice(threshold=float(thresholds[best]), criterion=criterion, value=float(values[best]),
                           tp=tp, fp=fp, fn=int(tps[-1]) - tp, tn=int(fps[-1]) - fp)


def youden_threshold(y_true: Any, y_score: Any, *, pos_label: Any = 1) -> ThresholdChoice:
    """The threshold maximising Youden's J = TPR - FPR = sensitivity + specificity - 1 (the ROC point farthest
    above the diagonal), among the distinct scores; ties go to the highest threshold."""
    is_pos, scores = _binary_inputs(y_true, y_score, pos_label)
    _require(is_pos, what="Youden's J")
    fps, tps, thresholds = _counts_at_thresholds(is_pos, scores)
    j = tps / tps[-1] - fps / fps[-1]
    return _choice("youden_j", j, fps, tps, thresholds)


def best_fbeta_threshold(y_true: Any, y_score: Any, *, beta: float = 1.0, pos_label: Any = 1) -> ThresholdChoice:
    """The threshold maximising F-beta of the positive class, among the distinct scores; ties go to the
    highest threshold. ``value`` equals f_beta_score(y_true, y_score >= threshold, beta=beta)."""
    if not beta >= 0:
        raise ValueError(f"beta must be >= 0, got {beta!r}")
    is_pos, scores = _binary_inputs(y_true, y_score, pos_label)
    _require(is_pos, negatives=False, what="the best F-beta threshold")
    fps, tps, thresholds = _counts_at_thresholds(is_pos, scores)
    predicted = tps + fps
    if np.isposinf(beta):
        f = tps / tps[-1]
    elif beta == 0:
        f = tps / predicted
    else:  # (1 + b²) TP / (b² (TP + FN) + (TP + FP)), as f_beta_score computes it
        beta2 = beta**2
        f = (1 + beta2) * tps / (beta2 * tps[-1] + predicted)
    return _choice(f"f_beta(beta={beta:g})", f, fps, tps, thresholds)


# --------------------------------------------------------------------------------------------- streaming


class BinaryScoresMetric(Metric):
    """ROC-AUC and average precision over batches of binary scores.

    Unlike the count-based metrics, these need every score: ``update`` keeps all scores and labels (16 bytes
    an example as float64 + bool), and ``compute`` sorts them once. No histogram approximation is made, so
    the result equals the one-shot functions on all batches concatenated.

        metric = BinaryScoresMetric()
        metric.update(torch.sigmoid(logits), labels)    # scores of the positive class (N,), labels (N,)
        metric.compute()    # {"roc_auc": ..., "average_precision": ...}
        metric.roc_curve(); metric.youden_threshold()   # curves and thresholds over everything seen
    """

    def __init__(self, *, pos_label: Any = 1) -> None:
        self.pos_label = pos_label
        super().__init__()

    def reset(self) -> None:
        self._scores: list[np.ndarray] = []
        self._positive: list[np.ndarray] = []

    def update(self, scores: Any, targets: Any) -> None:
        is_pos, scores = _binary_inputs(targets, scores, self.pos_label)
        self._scores.append(scores)
        self._positive.append(is_pos)

    def _all(self) -> tuple[np.ndarray, np.ndarray]:
        if not self._scores:
            raise ValueError("no examples yet: call update() first")
        return np.concatenate(self._positive), np.concatenate(self._scores)

    def roc_curve(self, *, drop_intermediate: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return roc_curve(*self._all(), pos_label=True, drop_intermediate=drop_intermediate)

    def precision_recall_curve(self, *, drop_intermediate: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return precision_recall_curve(*self._all(), pos_label=True, drop_intermediate=drop_intermediate)

    def youden_threshold(self) -> ThresholdChoice:
        return youden_threshold(*self._all(), pos_label=True)

    def best_fbeta_threshold(self, *, beta: float = 1.0) -> ThresholdChoice:
        return best_fbeta_threshold(*self._all(), beta=beta, pos_label=True)

    def compute(self) -> dict[str, float]:
        is_pos, scores = self._all()
        return {"roc_auc": roc_auc_score(is_pos, scores, pos_label=True),
                "average_precision": average_precision_score(is_pos, scores, pos_label=True)}
