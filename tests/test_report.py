"""Run reports: metrics.json merged, report.md readable, the classification helper against scikit-learn."""

import datetime as dt
import json

import numpy as np
import pytest

from seqlab.errors import SeqlabError
from seqlab.report import (
    ReportParts,
    classification_report_files,
    markdown_table,
    merge_metrics,
    per_class_table,
    text_table,
    write_report,
)

sk_metrics = pytest.importorskip("sklearn.metrics")


def test_markdown_and_text_tables():
    rows = [{"class": "a|b", "f1": 0.5, "support": 3}, {"class": "c", "f1": 1.0, "support": 10}]
    assert markdown_table(rows).splitlines() == [
        "| class | f1 | support |", "| --- | ---: | ---: |", "| a\\|b | 0.5000 | 3 |", "| c | 1.0000 | 10 |"]
    assert text_table(rows).splitlines()[2] == "a|b    0.5000        3"
    assert markdown_table([]) == text_table([]) == ""


def test_write_report_merges_metrics_and_writes_markdown(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"exact_match": 0.9, "steps": 100}))
    parts = ReportParts(title="Dates: test split", table=[{"field": "year", "accuracy": 0.99}],
                        table_title="Per field", examples=[{"source": "4 Jul", "prediction": "2019-07-04"}],
                        plots={"Attention": "attention.png"}, notes=["a note"])
    metrics = {"exact_match": 0.95, "bleu": 97.1, "n_examples": 50, "first_errors": [{"x": 1}]}
    when = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    path = write_report(tmp_path, metrics, parts, key="eval_test_beam1", command="seqlab eval run", when=when)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["exact_match"] == 0.9 and saved["steps"] == 100 and saved["eval_test_beam1"] == metrics
    text = path.read_text()
    for line in ["# Dates: test split", "Command: `seqlab eval run`  ", "Date: 2025-01-02T03:04:05+00:00",
                 "| metric | value |", "| exact_match | 0.9500 |", "| bleu | 97.1000 |", "| n_examples | 50 |",
                 "## Per field", "| year | 0.9900 |", "| 4 Jul | 2019-07-04 |", "> a note",
                 "![Attention](attention.png)"]:
        assert line in text.splitlines(), line
    assert "first_errors" not in text  # lists stay in metrics.json


def test_merge_without_key_updates_top_level_and_refuses_broken_json(tmp_path):
    path = tmp_path / "metrics.json"
    merge_metrics(path, {"a": 1})
    assert merge_metrics(path, {"b": 2}) == {"a": 1, "b": 2}
    path.write_text("{broken")
    with pytest.raises(SeqlabError, match="invalid JSON"):
        merge_metrics(path, {"c": 3})
    assert path.read_text() == "{broken"


def test_per_class_table_matches_sklearn():
    rng = np.random.default_rng(1)
    y_true, y_pred = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    y_pred[y_pred == 3] = 2  # class 3 never predicted: precision 0 by convention
    table = per_class_table(sk_metrics.confusion_matrix(y_true, y_pred, labels=range(4)), list("abcd"))
    p, r, f, s = sk_metrics.precision_recall_fscore_support(y_true, y_pred, labels=range(4), zero_division=0)
    np.testing.assert_allclose([[row[k] for k in ("precision", "recall", "f1", "support")] for row in table],
                               np.stack([p, r, f, s], axis=1))


def test_classification_report_files_binary(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    scores = np.clip(0.35 * y + rng.normal(0.33, 0.2, 400), 0, 1)
    y_pred = (scores >= 0.5).astype(int)
    metrics, parts = classification_report_files(y, y_pred, scores, ["negative", "positive"], tmp_path)
    assert metrics["accuracy"] == pytest.approx(sk_metrics.accuracy_score(y, y_pred))
    assert metrics["macro_f1"] == pytest.approx(sk_metrics.f1_score(y, y_pred, average="macro"))
    assert metrics["roc_auc"] == pytest.approx(sk_metrics.roc_auc_score(y, scores))
    assert metrics["average_precision"] == pytest.approx(sk_metrics.average_precision_score(y, scores))
    assert [row["class"] for row in parts.table] == ["negative", "positive"]
    assert sorted(parts.plots.values()) == ["confusion_matrix.png", "confusion_matrix_normalized.png",
                                            "pr_curve.png", "roc_curve.png"]
    for name in parts.plots.values():
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    report = write_report(tmp_path, metrics, parts).read_text()
    assert "| negative |" in report and "| roc_auc |" in report and "![ROC curve](roc_curve.png)" in report


def test_classification_report_files_multiclass_has_matrices_and_a_note(tmp_path):
    rng = np.random.default_rng(2)
    y_true, y_pred = rng.integers(0, 3, 90), rng.integers(0, 3, 90)
    scores = rng.dirichlet(np.ones(3), size=90)
    metrics, parts = classification_report_files(y_true, y_pred, scores, ["a", "b", "c"], tmp_path)
    assert metrics["accuracy"] == pytest.approx(sk_metrics.accuracy_score(y_true, y_pred))
    assert "roc_auc" not in metrics and len(parts.plots) == 2 and "two classes only" in parts.notes[0]
    assert metrics["roc_auc_ovr_macro"] == pytest.approx(sk_metrics.roc_auc_score(y_true, scores, multi_class="ovr"))


def test_classification_report_without_a_positive_says_why(tmp_path):
    metrics, parts = classification_report_files([0, 0, 0], [0, 1, 0], [0.1, 0.7, 0.2], ["neg", "pos"], tmp_path)
    assert "roc_auc" not in metrics and parts.notes[0].startswith("no ROC/PR: ")
    assert sorted(parts.plots.values()) == ["confusion_matrix.png", "confusion_matrix_normalized.png"]
