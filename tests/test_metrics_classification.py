"""Classification metrics and curves against scikit-learn, to the last digit (exact float equality)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from seqlab.metrics.classification import (
    ClassificationReport,
    ConfusionMatrixMetric,
    accuracy,
    classification_report,
    confusion_matrix,
    f1_score,
    f_beta_score,
    false_positive_rate,
    precision,
    recall,
    sensitivity,
    specificity,
)
from seqlab.metrics.curves import (
    BinaryScoresMetric,
    average_precision_score,
    best_fbeta_threshold,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
    youden_threshold,
)

# sklearn warns when y_true and y_pred hold a single label; random draws often do
pytestmark = pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")

FAST = settings(max_examples=100, deadline=None)
SLOW = settings(max_examples=50, deadline=None)  # many sklearn calls an example
BETAS = [0.0, 0.5, 1.0, 2, 3.7, math.inf]
ZERO_DIVISIONS = [0.0, 1.0, math.nan]


def same(ours, ref):
    """Exact equality, nan == nan, shape included."""
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(ref), strict=True)


# ---------------------------------------------------------------------------------------- strategies


@st.composite
def label_pairs(draw, max_classes=4, max_size=40):
    k = draw(st.integers(1, max_classes))
    n = draw(st.integers(1, max_size))
    labels = st.lists(st.integers(0, k - 1), min_size=n, max_size=n)
    return np.array(draw(labels)), np.array(draw(labels)), k


@st.composite
def binary_scores(draw, max_size=40):
    """Labels with both classes, and scores drawn from a few values so that ties are common."""
    n = draw(st.integers(2, max_size))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda v: 0 < sum(v) < len(v)))
    values = draw(st.sampled_from([[0.0, 0.5, 1.0], [0.1, 0.2, 0.3, 0.4, 0.7, 0.9], None]))
    element = st.floats(-5, 5, allow_nan=False) if values is None else st.sampled_from(values)
    scores = draw(st.lists(element, min_size=n, max_size=n))
    return np.array(y), np.array(scores)


def ref_specificity(y_true, y_pred, labels, zero_division):
    """Per-class TN / (TN + FP) via sklearn: the recall of 'not k' in the binarised problem."""
    return np.array([skm.recall_score(y_true != k, y_pred != k, pos_label=True, zero_division=zero_division)
                     for k in labels])


def ref_average(values, weights=None):
    """sklearn's rule for averaging per-class values: nan left out; all-zero weights fall back to the mean."""
    keep = ~np.isnan(values)
    if not keep.any():
        return math.nan
    if weights is None:
        return float(np.nanmean(values))
    w = np.asarray(weights, dtype=np.float64)[keep]
    return float(np.mean(values[keep])) if w.sum() == 0 else float(np.sum(values[keep] * w) / w.sum())


# --------------------------------------------------------------------------------------- worked example


def test_lecture_worked_example():
    """TP=40, FN=40, FP=10, TN=10: accuracy 0.5, precision 0.8, recall 0.5, specificity 0.5."""
    y_true = [1] * 80 + [0] * 20
    y_pred = [1] * 40 + [0] * 40 + [1] * 10 + [0] * 10
    same(confusion_matrix(y_true, y_pred), [[10, 10], [40, 40]])  # rows true (0, 1), columns predicted
    assert accuracy(y_true, y_pred) == 0.5
    assert precision(y_true, y_pred) == 0.8
    assert recall(y_true, y_pred) == sensitivity(y_true, y_pred) == 0.5
    assert specificity(y_true, y_pred) == 0.5
    assert false_positive_rate(y_true, y_pred) == 0.5
    assert f1_score(y_true, y_pred) == skm.f1_score(y_true, y_pred) == 2 * 0.8 * 0.5 / 1.3
    report = classification_report(y_true, y_pred)
    assert report.row(1) == {"label": 1, "precision": 0.8, "recall": 0.5, "specificity": 0.5,
                             "false_positive_rate": 0.5, "f_score": f1_score(y_true, y_pred), "support": 80}
    assert (report.tp.tolist(), report.fn.tolist(), report.fp.tolist(), report.tn.tolist()) == (
        [10, 40], [10, 40], [40, 10], [40, 10])



def test_lecture_second_classifier_predicts_everything_positive():
    """8 positives, 2 negatives, all predicted positive: TP=8, FP=2, FN=TN=0. Accuracy and precision look
    fine (0.8), recall is perfect, specificity is 0: the classifier never recognises a negative."""
    y_true, y_pred = [1] * 8 + [0] * 2, [1] * 10
    same(confusion_matrix(y_true, y_pred), [[0, 2], [0, 8]])
    assert round(accuracy(y_true, y_pred), 3) == 0.8
    assert round(precision(y_true, y_pred), 3) == 0.8
    assert round(recall(y_true, y_pred), 3) == 1.0
    assert round(specificity(y_true, y_pred), 3) == 0.0
    assert round(f1_score(y_true, y_pred), 3) == 0.889  # 2 P R / (P + R) = 1.6 / 1.8
    assert round(f_beta_score(y_true, y_pred, beta=2), 3) == 0.952  # 5 P R / (4 P + R) = 4 / 4.2

def test_fixed_multiclass_against_sklearn_docstring_example():
    y_true = np.array(["cat", "dog", "pig", "cat", "dog", "pig"])
    y_pred = np.array(["cat", "pig", "dog", "cat", "cat", "dog"])
    labels = ["pig", "dog", "cat"]
    same(confusion_matrix(y_true, y_pred, labels=labels), skm.confusion_matrix(y_true, y_pred, labels=labels))
    report = classification_report(y_true, y_pred, labels=labels)
    p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0.0)
    same(report.precision, p), same(report.recall, r), same(report.f_score, f), same(report.support, s.astype(np.int64))
    assert report.labels == labels
    assert report.averages["macro"]["f_score"] == skm.f1_score(y_true, y_pred, average="macro")


# ------------------------------------------------------------------------------- count metrics vs sklearn


@FAST
@given(label_pairs(), st.data())
def test_confusion_matrix_and_accuracy_match_sklearn(pair, data):
    y_true, y_pred, k = pair
    same(confusion_matrix(y_true, y_pred), skm.confusion_matrix(y_true, y_pred))
    assert accuracy(y_true, y_pred) == skm.accuracy_score(y_true, y_pred)
    labels = data.draw(st.lists(st.integers(0, k), min_size=1, max_size=k + 1, unique=True))
    if np.isin(labels, y_true).any():  # sklearn refuses labels of which none is in y_true
        same(confusion_matrix(y_true, y_pred, labels=labels), skm.confusion_matrix(y_true, y_pred, labels=labels))


@FAST
@given(label_pairs(), st.sampled_from([None, "macro", "micro", "weighted"]), st.sampled_from(BETAS),
       st.sampled_from(ZERO_DIVISIONS), st.data())
def test_precision_recall_fbeta_match_sklearn(pair, average, beta, zero_division, data):
    y_true, y_pred, k = pair
    labels = data.draw(st.none() | st.lists(st.integers(0, k), min_size=1, max_size=k + 1, unique=True))
    kw = dict(labels=labels, average=average, zero_division=zero_division)
    same(precision(y_true, y_pred, **kw), skm.precision_score(y_true, y_pred, **kw))
    same(recall(y_true, y_pred, **kw), skm.recall_score(y_true, y_pred, **kw))
    same(f_beta_score(y_true, y_pred, beta=beta, **kw), skm.fbeta_score(y_true, y_pred, beta=beta, **kw))
    same(f1_score(y_true, y_pred, **kw), skm.f1_score(y_true, y_pred, **kw))


@FAST
@given(st.lists(st.integers(0, 1), min_size=1, max_size=30), st.data(), st.sampled_from([0, 1]),
       st.sampled_from(BETAS), st.sampled_from(ZERO_DIVISIONS))
def test_binary_average_matches_sklearn(y_true, data, pos_label, beta, zero_division):
    y_pred = data.draw(st.lists(st.integers(0, 1), min_size=len(y_true), max_size=len(y_true)))
    kw = dict(pos_label=pos_label, zero_division=zero_division)
    same(precision(y_true, y_pred, **kw), skm.precision_score(y_true, y_pred, **kw))
    same(recall(y_true, y_pred, **kw), skm.recall_score(y_true, y_pred, **kw))
    same(f_beta_score(y_true, y_pred, beta=beta, **kw), skm.fbeta_score(y_true, y_pred, beta=beta, **kw))
    # the specificity of one class is the recall of the other
    same(specificity(y_true, y_pred, **kw), skm.recall_score(y_true, y_pred, **{**kw, "pos_label": 1 - pos_label}))


@SLOW
@given(label_pairs(), st.sampled_from(ZERO_DIVISIONS), st.data())
def test_specificity_and_fpr_per_class_and_averaged(pair, zero_division, data):
    y_true, y_pred, k = pair
    labels = data.draw(st.lists(st.integers(0, k), min_size=1, max_size=k + 1, unique=True))
    kw = dict(labels=labels, zero_division=zero_division)
    spec = ref_specificity(y_true, y_pred, labels, zero_division)
    same(specificity(y_true, y_pred, average=None, **kw), spec)
    support = np.array([(y_true == k).sum() for k in labels])
    same(specificity(y_true, y_pred, average="macro", **kw), ref_average(spec))
    same(specificity(y_true, y_pred, average="weighted", **kw), ref_average(spec, support))
    mcm = skm.multilabel_confusion_matrix(y_true, y_pred, labels=labels)
    tn, fp = mcm[:, 0, 0].sum(), mcm[:, 0, 1].sum()
    same(specificity(y_true, y_pred, average="micro", **kw), tn / (tn + fp) if tn + fp else zero_division)
    same(false_positive_rate(y_true, y_pred, average="micro", **kw), fp / (fp + tn) if tn + fp else zero_division)
    fpr = np.array([m[0, 1] / (m[0, 1] + m[0, 0]) if m[0].sum() else zero_division for m in mcm])
    same(false_positive_rate(y_true, y_pred, average=None, **kw), fpr)


@SLOW
@given(label_pairs(), st.sampled_from(BETAS), st.sampled_from(ZERO_DIVISIONS), st.data())
def test_report_matches_sklearn(pair, beta, zero_division, data):
    y_true, y_pred, k = pair
    labels = data.draw(st.none() | st.lists(st.integers(0, k), min_size=1, max_size=k + 1, unique=True))
    report = classification_report(y_true, y_pred, labels=labels, beta=beta, zero_division=zero_division)
    kw = dict(labels=labels, beta=beta, zero_division=zero_division)
    p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, **kw)
    same(report.precision, p), same(report.recall, r), same(report.f_score, f), same(report.support, s.astype(np.int64))
    for average in ("macro", "micro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(y_true, y_pred, average=average, **kw)
        row = report.averages[average]
        same(row["precision"], p), same(row["recall"], r), same(row["f_score"], f)
        same(row["specificity"], specificity(y_true, y_pred, labels=report.labels, average=average,
                                             zero_division=zero_division))
    assert report.accuracy == skm.accuracy_score(y_true, y_pred)
    shown = report.labels if labels is not None else sorted(set(y_true) | set(y_pred))
    assert report.labels == list(shown)
    assert [row["label"] for row in report.rows()] == [*shown, "macro avg", "micro avg", "weighted avg"]


# ------------------------------------------------------------------------------------- curves vs sklearn


@FAST
@given(binary_scores(), st.booleans())
def test_roc_curve_and_auc_match_sklearn(data, drop_intermediate):
    y, s = data
    for ours, ref in zip(roc_curve(y, s, drop_intermediate=drop_intermediate),
                         skm.roc_curve(y, s, drop_intermediate=drop_intermediate), strict=True):
        same(ours, ref)
    assert roc_auc_score(y, s) == skm.roc_auc_score(y, s)


@FAST
@given(binary_scores(), st.booleans())
def test_pr_curve_and_average_precision_match_sklearn(data, drop_intermediate):
    y, s = data
    for ours, ref in zip(precision_recall_curve(y, s, drop_intermediate=drop_intermediate),
                         skm.precision_recall_curve(y, s, drop_intermediate=drop_intermediate), strict=True):
        same(ours, ref)
    assert average_precision_score(y, s) == skm.average_precision_score(y, s)


@FAST
@given(binary_scores())
def test_pos_label_zero(data):
    y, s = data
    for ours, ref in zip(roc_curve(y, -s, pos_label=0), skm.roc_curve(y, -s, pos_label=0), strict=True):
        same(ours, ref)
    assert average_precision_score(y, -s, pos_label=0) == skm.average_precision_score(y, -s, pos_label=0)


@SLOW
@given(st.integers(3, 5), st.integers(0, 2**32 - 1), st.sampled_from(["macro", "weighted", "micro"]),
       st.booleans())
def test_one_vs_rest_auc_matches_sklearn(k, seed, average, coarse):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(k, 40))
    y = np.r_[np.arange(k), rng.integers(0, k, n - k)]  # every class present
    logits = rng.integers(0, 3, (n, k)).astype(float) if coarse else rng.normal(size=(n, k))  # coarse: ties
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    ref = skm.roc_auc_score(y, probs, multi_class="ovr", average=average)
    assert roc_auc_score(y, probs, average=average) == ref
    assert roc_auc_score(torch.from_numpy(y), torch.from_numpy(probs), average=average) == ref


def test_one_vs_rest_auc_with_labels_orders_columns():
    y = np.array(["b", "a", "c", "a", "b", "c", "c"])
    probs = np.array([[.2, .5, .3], [.6, .2, .2], [.1, .1, .8], [.3, .4, .3], [.2, .7, .1], [.5, .1, .4],
                      [.3, .3, .4]])
    ref = skm.roc_auc_score(y, probs, multi_class="ovr", labels=["a", "b", "c"])
    assert roc_auc_score(y, probs, labels=["a", "b", "c"]) == ref == roc_auc_score(y, probs)


# ---------------------------------------------------------------------------------------- thresholds


@FAST
@given(binary_scores())
def test_youden_threshold_is_the_best_roc_point(data):
    y, s = data
    choice = youden_threshold(y, s)
    fpr, tpr, thresholds = skm.roc_curve(y, s, drop_intermediate=False)
    j = tpr[1:] - fpr[1:]  # the +inf threshold (predict nothing) is not a candidate
    best = int(np.argmax(j))
    assert (choice.threshold, choice.value) == (thresholds[1:][best], j[best])
    predicted = (s >= choice.threshold).astype(int)
    (tn, fp), (fn, tp) = skm.confusion_matrix(y, predicted)
    assert (choice.tp, choice.fp, choice.fn, choice.tn) == (tp, fp, fn, tn)
    assert choice.tpr == choice.recall == skm.recall_score(y, predicted)
    assert choice.specificity == skm.recall_score(y, predicted, pos_label=0)
    assert choice.fpr == fpr[1:][best]


@FAST
@given(binary_scores(), st.sampled_from([0.5, 1.0, 2.0, 0.0, math.inf]))
def test_best_fbeta_threshold_is_the_best_over_all_thresholds(data, beta):
    y, s = data
    choice = best_fbeta_threshold(y, s, beta=beta)
    predicted = (s >= choice.threshold).astype(int)
    assert choice.value == skm.fbeta_score(y, predicted, beta=beta)
    assert choice.precision == skm.precision_score(y, predicted)
    assert choice.recall == skm.recall_score(y, predicted)
    # brute force over every distinct score, decreasing: the first maximum is the highest threshold
    candidates = np.unique(s)[::-1]
    predicted = s[None, :] >= candidates[:, None]  # (T, N)
    tp, n_pred, n_pos = (predicted & (y == 1)).sum(axis=1), predicted.sum(axis=1), (y == 1).sum()
    if beta == math.inf:
        f = tp / n_pos
    elif beta == 0:
        f = tp / n_pred
    else:  # sklearn's order of operations (its value at the chosen threshold is checked above)
        f = (1 + beta**2) * tp.astype(float) / (beta**2 * float(n_pos) + n_pred.astype(float))
    assert choice.threshold == candidates[int(np.argmax(f))]


# ----------------------------------------------------------------------------------------- streaming


def _splits(n, rng):
    cuts = np.sort(rng.choice(np.arange(1, n), size=min(n - 1, int(rng.integers(0, 5))), replace=False))
    return np.split(np.arange(n), cuts)


def assert_same_report(a: ClassificationReport, b: ClassificationReport):
    assert a.labels == b.labels and a.accuracy == b.accuracy and a.num_examples == b.num_examples
    for name in ("confusion_matrix", "support", "tp", "fp", "fn", "tn", "precision", "recall", "specificity",
                 "false_positive_rate", "f_score"):
        same(getattr(a, name), getattr(b, name))
    same([list(v.values()) for v in a.averages.values()], [list(v.values()) for v in b.averages.values()])


@settings(max_examples=60, deadline=None)
@given(label_pairs(max_size=60), st.integers(0, 2**32 - 1), st.sampled_from([0.5, 2.0]))
def test_streaming_labels_equal_one_shot(pair, seed, beta):
    y_true, y_pred, _ = pair
    metric = ConfusionMatrixMetric(beta=beta)
    for part in _splits(len(y_true), np.random.default_rng(seed)):
        metric.update(torch.from_numpy(y_pred[part]), y_true[part].tolist())  # tensors and lists mixed
    assert_same_report(metric.compute(), classification_report(y_true, y_pred, beta=beta))


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 5), st.integers(0, 2**32 - 1))
def test_streaming_logits_equal_one_shot(k, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    logits = torch.from_numpy(rng.integers(-2, 3, (n, k)).astype(np.float32))  # integer logits: argmax ties
    targets = torch.from_numpy(rng.integers(0, k, n))
    metric = ConfusionMatrixMetric()
    for part in _splits(n, rng):
        metric.update(logits[part], targets[part])
    predicted = logits.argmax(dim=1).numpy()  # first maximum on ties, as numpy
    assert_same_report(metric.compute(), classification_report(targets, predicted, labels=range(k)))
    metric.reset()
    with pytest.raises(ValueError, match="no examples"):
        metric.compute()


def test_streaming_threshold_on_probabilities():
    rng = np.random.default_rng(0)
    probs, targets = rng.random(50), rng.integers(0, 2, 50)
    metric = ConfusionMatrixMetric(threshold=0.5)
    for part in np.array_split(np.arange(50), 4):
        metric.update(probs[part], targets[part])
    report = metric.compute()
    predicted = (probs >= 0.5).astype(int)
    assert report.row(1)["precision"] == skm.precision_score(targets, predicted)
    assert report.row(1)["specificity"] == skm.recall_score(targets, predicted, pos_label=0)
    assert_same_report(report, classification_report(targets, predicted))


def test_streaming_labels_restrict_the_report_like_one_shot():
    y_true, y_pred = [0, 1, 2, 2, 1, 0, 2], [0, 2, 2, 1, 1, 0, 0]
    metric = ConfusionMatrixMetric(labels=[2, 0, 5])
    metric.update(y_pred[:3], y_true[:3])
    metric.update(y_pred[3:], y_true[3:])
    assert_same_report(metric.compute(), classification_report(y_true, y_pred, labels=[2, 0, 5]))


@settings(max_examples=60, deadline=None)
@given(binary_scores(max_size=60), st.integers(0, 2**32 - 1))
def test_binary_scores_metric_equals_one_shot(data, seed):
    y, s = data
    metric = BinaryScoresMetric()
    for part in _splits(len(y), np.random.default_rng(seed)):
        metric.update(torch.from_numpy(s[part]), torch.from_numpy(y[part]))
    assert metric.compute() == {"roc_auc": skm.roc_auc_score(y, s),
                                "average_precision": skm.average_precision_score(y, s)}
    for ours, ref in zip(metric.roc_curve(), roc_curve(y, s), strict=True):
        same(ours, ref)
    for ours, ref in zip(metric.precision_recall_curve(), precision_recall_curve(y, s), strict=True):
        same(ours, ref)
    assert metric.youden_threshold() == youden_threshold(y, s)
    assert metric.best_fbeta_threshold(beta=2.0) == best_fbeta_threshold(y, s, beta=2.0)


# ------------------------------------------------------------------------------------------ edge cases


def test_inputs_may_be_tensors_arrays_or_lists():
    y_true, y_pred = [0, 1, 2, 2, 1], [0, 2, 2, 2, 1]
    for a, b in [(torch.tensor(y_true), torch.tensor(y_pred)), (np.array(y_true), np.array(y_pred))]:
        assert f1_score(a, b, average="macro") == f1_score(y_true, y_pred, average="macro")
        same(confusion_matrix(a, b), confusion_matrix(y_true, y_pred))
    s = torch.tensor([0.1, 0.9, 0.4, 0.3], dtype=torch.bfloat16)
    assert roc_auc_score(torch.tensor([0, 1, 1, 0]), s) == skm.roc_auc_score([0, 1, 1, 0], s.float().numpy())


@pytest.mark.parametrize("zero_division", ZERO_DIVISIONS)
def test_class_never_predicted(zero_division):
    y_true, y_pred = [0, 1, 2, 2], [0, 1, 1, 1]  # class 2 never predicted: its precision is 0/0
    ours = precision(y_true, y_pred, average=None, zero_division=zero_division)
    same(ours, skm.precision_score(y_true, y_pred, average=None, zero_division=zero_division))
    same(ours[2], zero_division)
    for average in ("macro", "weighted"):  # nan is left out of the average
        same(precision(y_true, y_pred, average=average, zero_division=zero_division),
             skm.precision_score(y_true, y_pred, average=average, zero_division=zero_division))


def test_class_never_true_and_never_predicted_gets_zero_division_everywhere():
    report = classification_report([0, 1], [0, 1], labels=[0, 1, 7], zero_division=1.0)
    assert report.row(7) == {"label": 7, "precision": 1.0, "recall": 1.0, "specificity": 1.0,
                             "false_positive_rate": 0.0, "f_score": 1.0, "support": 0}


def test_single_class_in_labels():
    with pytest.raises(ValueError, match="only one class"):
        roc_auc_score([1, 1, 1], [0.2, 0.5, 0.9])
    with pytest.raises(ValueError, match="no positive"):
        roc_auc_score([0, 0, 0], [0.2, 0.5, 0.9])
    with pytest.raises(ValueError, match="no positive"):
        average_precision_score([0, 0], [0.2, 0.5])
    with pytest.raises(ValueError, match="never occur"):
        roc_auc_score([0, 0, 1], np.eye(3), labels=[0, 1, 2])
    # all positive: precision-recall is defined, as in sklearn
    assert average_precision_score([1, 1], [0.2, 0.5]) == skm.average_precision_score([1, 1], [0.2, 0.5]) == 1.0
    # count metrics stay defined with one class
    assert precision([1, 1], [1, 1]) == 1.0 and specificity([1, 1], [1, 1]) == 0.0


@pytest.mark.parametrize("call", [
    lambda: confusion_matrix([], []),
    lambda: accuracy([], []),
    lambda: precision(np.array([]), np.array([]), average="macro"),
    lambda: classification_report(torch.tensor([]), torch.tensor([])),
    lambda: roc_curve([], []),
    lambda: average_precision_score([], []),
    lambda: ConfusionMatrixMetric().compute(),
    lambda: BinaryScoresMetric().compute(),
    lambda: ConfusionMatrixMetric().update(torch.zeros(0, 3), torch.zeros(0)),
])
def test_empty_inputs_raise(call):
    with pytest.raises(ValueError, match=r"empty|no examples"):
        call()


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_inf_scores_raise(bad):
    scores = [0.1, bad, 0.3]
    with pytest.raises(ValueError, match="NaN" if math.isnan(bad) else "inf"):
        roc_curve([0, 1, 1], scores)
    with pytest.raises(ValueError, match="NaN" if math.isnan(bad) else "inf"):
        precision_recall_curve([0, 1, 1], scores)
    with pytest.raises(ValueError):  # sklearn refuses them too
        skm.roc_curve([0, 1, 1], scores)


def test_nan_scores_raise_in_streaming():
    with pytest.raises(ValueError, match="NaN"):
        ConfusionMatrixMetric().update(torch.tensor([[0.1, math.nan]]), torch.tensor([0]))
    with pytest.raises(ValueError, match="NaN"):
        BinaryScoresMetric().update(torch.tensor([math.nan]), torch.tensor([0]))


def test_clear_errors_for_bad_arguments():
    with pytest.raises(ValueError, match="different lengths"):
        accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="at most two labels"):
        precision([0, 1, 2], [0, 1, 2])  # average="binary" by default, as sklearn
    with pytest.raises(ValueError, match="pos_label"):
        recall([0, 2], [2, 0])
    with pytest.raises(ValueError, match="average"):
        recall([0, 1], [0, 1], average="samples")
    with pytest.raises(ValueError, match="zero_division"):
        recall([0, 1], [0, 1], zero_division=0.5)
    with pytest.raises(ValueError, match="beta"):
        f_beta_score([0, 1], [0, 1], beta=-1.0)
    with pytest.raises(ValueError, match="binarise"):
        roc_curve([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="columns"):
        roc_auc_score([0, 1, 2], np.eye(3)[:, :2] + 0.1)
    with pytest.raises(ValueError, match="duplicates"):
        confusion_matrix([0, 1], [0, 1], labels=[0, 0])
