"""Run reports: the numbers in ``metrics.json`` (merged, never clobbered) and a Markdown ``report.md``
that a person reads: a table of metrics, an optional per-class table, examples and the plots.

A task's ``evaluate(run_dir, split=..., data_dir=..., beam_size=..., out_dir=...)`` returns
``(metrics, ReportParts)``; ``seqlab eval`` hands both to :func:`write_report`. Classification
tasks get their parts (confusion matrices, ROC and PR curves, per-class table) from
:func:`classification_report_files`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqlab.errors import SeqlabError
from seqlab.io import atomic_write_text, write_json


@dataclass
class ReportParts:
    """Everything in a report besides the metrics. Plots are file names relative to the report's directory."""

    title: str
    table: list[dict] | None = None  # one row per class (or per field, per length bucket ...)
    table_title: str = "Per class"
    examples: list[dict] | None = None  # e.g. the first errors: source, reference, prediction
    examples_title: str = "Examples"
    plots: dict[str, str] = field(default_factory=dict)  # caption -> PNG file name
    notes: list[str] = field(default_factory=list)


def _cell(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, (float, np.floating)):
        return f"{value:.4f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _numeric_columns(rows: Sequence[dict], columns: Sequence[str]) -> list[bool]:
    """Columns holding any number are right-aligned (a metrics table's value column mixes in a few words)."""
    return [any(isinstance(r.get(c), (int, float, np.number)) and not isinstance(r.get(c), bool) for r in rows)
            for c in columns]


def markdown_table(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    """A GitHub Markdown table; columns default to the keys of the first row; numbers right-aligned."""
    if not rows:
        return ""
    columns = list(columns or rows[0])
    numeric = _numeric_columns(rows, columns)
    lines = ["| " + " | ".join(columns) + " |",
             "| " + " | ".join("---:" if n else "---" for n in numeric) + " |"]
    lines += ["| " + " | ".join(_cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def scalar_metrics(metrics: dict) -> dict:
    """The entries of ``metrics`` that fit in a table cell (numbers and short strings, not lists or dicts)."""
    return {k: v for k, v in metrics.items() if isinstance(v, (int, float, str, np.number)) or v is None}


def text_table(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    """The same table as aligned plain text, for the terminal."""
    if not rows:
        return ""
    columns = list(columns or rows[0])
    cells = [[_cell(r.get(c)).replace("\\|", "|") for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    numeric = _numeric_columns(rows, columns)

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True)
                         ).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(row) for row in cells)])


def merge_metrics(path: str | Path, metrics: dict, *, key: str | None = None) -> dict:
    """Add ``metrics`` to the JSON file at ``path`` (under ``key`` if given), keeping every other key."""
    path = Path(path)
    merged: dict = {}
    if path.is_file():
        try:
            merged = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise SeqlabError(f"{path}:{err.lineno}: invalid JSON ({err.msg}); not overwriting it") from err
    if key is None:
        merged.update(metrics)
    else:
        merged[key] = metrics
    write_json(path, merged)
    return merged


def render_markdown(metrics: dict, parts: ReportParts, *, command: str | None = None,
                    when: dt.datetime | None = None) -> str:
    when = when or dt.datetime.now().astimezone()
    lines = [f"# {parts.title}", ""]
    if command:
        lines.append(f"Command: `{command}`  ")
    lines += [f"Date: {when.isoformat(timespec='seconds')}", "", "## Metrics", "",
              markdown_table([{"metric": k, "value": v} for k, v in scalar_metrics(metrics).items()]), ""]
    for note in parts.notes:
        lines += [f"> {note}", ""]
    if parts.table:
        lines += [f"## {parts.table_title}", "", markdown_table(parts.table), ""]
    if parts.examples:
        lines += [f"## {parts.examples_title}", "", markdown_table(parts.examples), ""]
    if parts.plots:
        lines += ["## Plots", ""]
        for caption, name in parts.plots.items():
            lines += [f"**{caption}** ([{name}]({name}))", "", f"![{caption}]({name})", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_report(out_dir: str | Path, metrics: dict, parts: ReportParts, *, key: str | None = None,
                 command: str | None = None, when: dt.datetime | None = None) -> Path:
    """Merge ``metrics`` into ``out_dir/metrics.json`` (under ``key``, e.g. "eval_test_beam1") and write
    ``out_dir/report.md``; returns the report's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    merge_metrics(out_dir / "metrics.json", metrics, key=key)
    path = out_dir / "report.md"
    atomic_write_text(path, render_markdown(metrics, parts, command=command, when=when))
    return path


def per_class_table(matrix: np.ndarray, class_names: Sequence[str]) -> list[dict]:
    """Precision, recall, F1 and support per class from a confusion matrix (rows true, columns predicted).
    A class never predicted (or never present) gets 0.0 where the ratio is undefined, as scikit-learn's
    ``zero_division=0``."""
    from seqlab.metrics.classification import ClassificationReport

    report = ClassificationReport.from_confusion_matrix(matrix, np.arange(len(class_names)))
    return [{"class": str(name), "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(class_names, report.precision, report.recall, report.f_score,
                                        report.support, strict=True)]


def operating_point(y_true: Sequence[int], scores: Sequence[float], threshold: float) -> dict:
    """Where a binary classifier that predicts positive for ``score >= threshold`` sits on the ROC and PR
    curves: its fpr, tpr (= recall) and precision (1.0 when it predicts no positive, as sklearn's curve ends)."""
    y_true, predicted = np.asarray(y_true) == 1, np.asarray(scores) >= threshold
    tp, fp = int((predicted & y_true).sum()), int((predicted & ~y_true).sum())
    positives, negatives = int(y_true.sum()), int((~y_true).sum())
    return {"fpr": fp / negatives if negatives else 0.0, "tpr": tp / positives if positives else 0.0,
            "precision": tp / (tp + fp) if tp + fp else 1.0}


def classification_report_files(y_true: Sequence[int], y_pred: Sequence[int], scores: Sequence | None,
                                class_names: Sequence[str], out_dir: str | Path, *, threshold: float = 0.5,
                                title: str = "Classification report") -> tuple[dict, ReportParts]:
    """Metrics, per-class table and plots for a classifier's predictions, ready for :func:`write_report`.

    ``y_true``/``y_pred`` are class indices into ``class_names``. Always writes ``confusion_matrix.png``
    (counts) and ``confusion_matrix_normalized.png`` (rows sum to 1). For two classes with ``scores``
    (the positive class's probability, shape (N,), or (N, 2) probabilities) it also writes ``roc_curve.png``
    and ``pr_curve.png`` with the operating ``threshold`` marked, and adds ``roc_auc`` and
    ``average_precision`` to the metrics; for more classes, (N, C) scores give ``roc_auc_ovr_macro``.
    Where the curves are undefined (a class missing from ``y_true``) a note in the report says why.
    """
    from seqlab.metrics.classification import confusion_matrix
    from seqlab.metrics.curves import roc_auc_score
    from seqlab.viz import plot_confusion_matrix

    out_dir = Path(out_dir)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    n_classes = len(class_names)
    matrix = np.asarray(confusion_matrix(y_true, y_pred, labels=list(range(n_classes))))
    table = per_class_table(matrix, class_names)
    metrics: dict = {"n_examples": len(y_true), "accuracy": float(np.trace(matrix) / max(1, matrix.sum()))}
    for name in ("precision", "recall", "f1"):
        metrics[f"macro_{name}"] = float(np.mean([row[name] for row in table]))
    parts = ReportParts(title=title, table=table)
    plot_confusion_matrix(matrix, class_names, out_dir / "confusion_matrix.png")
    plot_confusion_matrix(matrix, class_names, out_dir / "confusion_matrix_normalized.png", normalize=True)
    parts.plots["Confusion matrix (counts)"] = "confusion_matrix.png"
    parts.plots["Confusion matrix (row-normalised: the diagonal is recall)"] = "confusion_matrix_normalized.png"

    if scores is None:
        return metrics, parts
    scores = np.asarray(scores, dtype=float)
    try:
        if n_classes == 2:
            positive_scores = scores[:, 1] if scores.ndim == 2 else scores
            _binary_curves(y_true, positive_scores, class_names[1], threshold, out_dir, metrics, parts)
        else:
            metrics["roc_auc_ovr_macro"] = float(roc_auc_score(y_true, scores, labels=list(range(n_classes))))
            parts.notes.append("ROC and PR curves are drawn for two classes only; roc_auc_ovr_macro averages "
                               "the one-vs-rest AUC of each class.")
    except ValueError as err:  # e.g. a class absent from y_true: no curve, say why
        parts.notes.append(f"no ROC/PR: {err}")
    return metrics, parts


def _binary_curves(y_true: np.ndarray, scores: np.ndarray, positive: str, threshold: float, out_dir: Path,
                   metrics: dict, parts: ReportParts) -> None:
    from seqlab.metrics.curves import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve
    from seqlab.viz import plot_pr_curve, plot_roc_curve

    fpr, tpr, _ = roc_curve(y_true, scores)
    precision, recall, _ = precision_recall_curve(y_true, scores)
    metrics["roc_auc"] = float(roc_auc_score(y_true, scores))
    metrics["average_precision"] = float(average_precision_score(y_true, scores))
    point = operating_point(y_true, scores, threshold)
    plot_roc_curve(fpr, tpr, out_dir / "roc_curve.png", auc=metrics["roc_auc"], threshold=threshold,
                   operating_point=(point["fpr"], point["tpr"]), title=f"ROC curve (positive: {positive})")
    plot_pr_curve(precision, recall, out_dir / "pr_curve.png", average_precision=metrics["average_precision"],
                  positive_rate=float(np.mean(y_true == 1)), threshold=threshold,
                  operating_point=(point["tpr"], point["precision"]),
                  title=f"Precision-recall curve (positive: {positive})")
    parts.plots["ROC curve"] = "roc_curve.png"
    parts.plots["Precision-recall curve"] = "pr_curve.png"
    return metrics, parts
