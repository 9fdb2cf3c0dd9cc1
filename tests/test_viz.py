"""Plots: valid PNGs of a readable size, and what is drawn is what was passed (read back from the Figure)."""

import numpy as np
import pytest
from matplotlib.image import imread

from seqlab.report import operating_point
from seqlab.viz import (
    normalize_rows,
    plot_attention,
    plot_confusion_matrix,
    plot_learning_curve,
    plot_pr_curve,
    plot_roc_curve,
)

sk_metrics = pytest.importorskip("sklearn.metrics")


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    scores = np.clip(0.3 * y + rng.normal(0.35, 0.25, 200), 0, 1)
    return y, scores


def assert_png(path, min_side=300):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 5_000 < path.stat().st_size < 2_000_000
    height, width = imread(path).shape[:2]
    assert min(height, width) >= min_side and max(height, width) <= 3000


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_roc_curve_draws_the_given_curve_auc_chance_and_threshold(binary, tmp_path):
    y, scores = binary
    fpr, tpr, _ = sk_metrics.roc_curve(y, scores)
    auc = sk_metrics.roc_auc_score(y, scores)
    point = operating_point(y, scores, 0.5)
    fig = plot_roc_curve(fpr, tpr, tmp_path / "roc.png", auc=auc, operating_point=(point["fpr"], point["tpr"]))
    assert_png(tmp_path / "roc.png")
    ax = fig.axes[0]
    curve, chance, dot = ax.lines
    np.testing.assert_array_equal(curve.get_xdata(), fpr)
    np.testing.assert_array_equal(curve.get_ydata(), tpr)
    np.testing.assert_array_equal(chance.get_xydata(), [[0, 0], [1, 1]])
    np.testing.assert_allclose(dot.get_xydata(), [[point["fpr"], point["tpr"]]])
    assert f"model (AUC = {auc:.3f})" in legend_texts(ax)
    assert "t = 0.50" in [t.get_text() for t in ax.texts]
    assert ax.get_xlabel().startswith("false-positive rate") and ax.get_ylabel().startswith("true-positive rate")


def test_operating_point_lies_on_sklearns_curves(binary):
    y, scores = binary
    for threshold in (0.3, 0.5, 0.7):
        point = operating_point(y, scores, threshold)
        fpr, tpr, thresholds = sk_metrics.roc_curve(y, scores, drop_intermediate=False)
        i = np.flatnonzero(thresholds >= threshold)[-1]  # the last (widest) cut still at or above t
        assert (point["fpr"], point["tpr"]) == pytest.approx((fpr[i], tpr[i]))
        predicted = (scores >= threshold).astype(int)
        assert point["precision"] == pytest.approx(sk_metrics.precision_score(y, predicted))


def test_pr_curve_draws_steps_baseline_and_threshold(binary, tmp_path):
    y, scores = binary
    precision, recall, _ = sk_metrics.precision_recall_curve(y, scores)
    ap = sk_metrics.average_precision_score(y, scores)
    point = operating_point(y, scores, 0.5)
    fig = plot_pr_curve(precision, recall, tmp_path / "pr.png", average_precision=ap, positive_rate=y.mean(),
                        operating_point=(point["tpr"], point["precision"]))
    assert_png(tmp_path / "pr.png")
    ax = fig.axes[0]
    curve, baseline, dot = ax.lines
    np.testing.assert_array_equal(curve.get_xdata(), recall)
    np.testing.assert_array_equal(curve.get_ydata(), precision)
    assert curve.get_drawstyle() == "steps-post"
    assert set(baseline.get_ydata()) == {y.mean()}
    np.testing.assert_allclose(dot.get_xydata(), [[point["tpr"], point["precision"]]])
    assert f"model (AP = {ap:.3f})" in legend_texts(ax)
    assert "t = 0.50" in [t.get_text() for t in ax.texts]


@pytest.mark.parametrize("normalize", [False, True])
def test_confusion_matrix_heatmap_shows_the_matrix_with_names_and_cells(normalize, tmp_path):
    names = ["negative", "positive", "neutral"]
    matrix = sk_metrics.confusion_matrix([0, 0, 1, 1, 1, 2, 2, 2, 2], [0, 1, 1, 1, 2, 2, 2, 0, 2])
    fig = plot_confusion_matrix(matrix, names, tmp_path / "cm.png", normalize=normalize)
    assert_png(tmp_path / "cm.png")
    ax, colorbar = fig.axes
    shown = ax.images[0].get_array()
    expected = matrix / matrix.sum(axis=1, keepdims=True) if normalize else matrix
    np.testing.assert_allclose(shown, expected)
    assert [t.get_text() for t in ax.get_xticklabels()] == names == [t.get_text() for t in ax.get_yticklabels()]
    cells = [t.get_text() for t in ax.texts]
    assert len(cells) == 9 and cells[0] == ("0.50" if normalize else "1")
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert colorbar.get_ylabel() == ("fraction of true class" if normalize else "count")


def test_confusion_matrix_checks_names_and_normalises_empty_rows(tmp_path):
    with pytest.raises(ValueError, match="3 class names"):
        plot_confusion_matrix(np.eye(2), ["a", "b", "c"], tmp_path / "x.png")
    np.testing.assert_array_equal(normalize_rows([[2, 2], [0, 0]]), [[0.5, 0.5], [0.0, 0.0]])


def test_learning_curve_has_train_and_validation_loss_and_metric(tmp_path):
    history = []
    for step in range(10, 101, 10):
        history.append({"step": step, "loss": 3.0 / step, "lr": 1e-3})
        if step % 50 == 0:
            history.append({"step": step, "eval_loss": 4.0 / step, "eval_exact_match": step / 100})
    fig = plot_learning_curve(history, tmp_path / "lc.png", metric="exact_match")
    assert_png(tmp_path / "lc.png")
    ax, ax2 = fig.axes
    train, dev = ax.lines
    np.testing.assert_allclose(train.get_xydata(), [[s, 3.0 / s] for s in range(10, 101, 10)])
    np.testing.assert_allclose(dev.get_xydata(), [[50, 0.08], [100, 0.04]])
    np.testing.assert_allclose(ax2.lines[0].get_xydata(), [[50, 0.5], [100, 1.0]])
    assert legend_texts(ax) == ["train loss", "validation loss", "validation exact_match"]
    assert ax.get_yscale() == "log" and ax2.get_ylabel() == "validation exact_match"


def test_learning_curve_per_epoch_and_without_validation(tmp_path):
    history = [{"epoch": e, "step": 10 * e, "loss": 1.0 / e} for e in (1, 2, 3)]
    fig = plot_learning_curve(history, tmp_path / "lc.png", x="epoch", metric="accuracy")
    assert len(fig.axes) == 1 and fig.axes[0].get_xlabel() == "epoch"
    np.testing.assert_allclose(fig.axes[0].lines[0].get_xdata(), [1, 2, 3])
    assert_png(tmp_path / "lc.png", min_side=200)


def test_attention_heatmap_keeps_its_signature(tmp_path):
    weights = np.random.default_rng(0).dirichlet(np.ones(5), size=3)
    fig = plot_attention(weights, list("ab cd"), ["x", "y", "<eos>"], tmp_path / "att.png", title="t")
    assert_png(tmp_path / "att.png", min_side=200)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), weights)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()][2] == "␣"


def test_attention_heads_grid_has_each_head_and_the_average(tmp_path):
    from seqlab.viz import plot_attention_heads

    rng = np.random.default_rng(0)
    weights = rng.dirichlet(np.ones(4), size=(3, 5))  # (H=3, T=5, S=4), rows sum to 1
    source = ["\u2581Ein", "\u2581Mann", "\u2581lacht", "."]
    target = ["\u2581A", "\u2581man", "\u2581laughs", ".", "<eos>"]
    fig = plot_attention_heads(weights, source, target, tmp_path / "heads.png")
    assert_png(tmp_path / "heads.png", min_side=200)
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels[:4]] == ["head 1", "head 2", "head 3", "average"]
    np.testing.assert_allclose(panels[3].images[0].get_array(), weights.mean(0))
    np.testing.assert_allclose(panels[1].images[0].get_array(), weights[1])
    assert [t.get_text() for t in panels[0].get_xticklabels()] == source
