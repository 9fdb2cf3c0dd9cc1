"""`seqlab eval` on a tiny trained run: tables on stdout, report.md + metrics.json + plots in --out."""

import json

import pytest

from seqlab.cli import main
from seqlab.tasks.dates import char_accuracy, field_accuracy


def test_eval_writes_report_into_the_run_directory(run_dir, capsys):
    trained = json.loads((run_dir / "metrics.json").read_text())
    assert main(["eval", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Date normalisation: test split, 50 dates, greedy decoding\nmetric ")
    assert "exact_match" in out and "char_accuracy" in out and "Accuracy per date field" in out
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {k: v for k, v in metrics.items() if k != "eval_test_beam1"} == trained  # merged, nothing lost
    result = metrics["eval_test_beam1"]
    assert result["exact_match"] == trained["exact_match"] and result["n_examples"] == 50
    assert 0.0 <= result["char_accuracy"] <= 1.0 and 0.0 <= result["bleu"] <= 100.0 and 0.0 <= result["chrf"] <= 100
    report = (run_dir / "report.md").read_text()
    assert "| metric | value |" in report and "| exact_match |" in report and "| n_examples | 50 |" in report
    assert "Command: `seqlab eval " in report and "![Cross-attention" in report
    assert (run_dir / "attention.png").read_bytes()[:4] == b"\x89PNG"


def test_eval_validation_split_into_another_directory_as_json(run_dir, tmp_path, capsys):
    out = tmp_path / "eval"
    assert main(["eval", str(run_dir), "--split", "validation", "--out", str(out), "--beam", "2", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["split"] == "validation" and printed["n_examples"] == 20 and printed["beam_size"] == 2
    assert json.loads((out / "metrics.json").read_text()) == {"eval_validation_beam2": printed}
    for name in ["report.md", "attention.png", "learning_curve.png"]:
        assert (out / name).is_file(), name
    assert "(beam 2)" in (out / "report.md").read_text()


@pytest.mark.parametrize("argv,message", [
    (["--split", "train"], "unknown split 'train' for the dates task (known: test, validation)"),
    (["--beam", "0"], "--beam: must lie in 1..64"),
])
def test_bad_eval_arguments_are_one_line_and_exit_2(run_dir, argv, message, capsys):
    assert main(["eval", str(run_dir), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_character_and_field_accuracy():
    predictions, references = ["2019-07-04", "2019-07-05", ""], ["2019-07-04", "2019-08-05", "2000-01-01"]
    assert char_accuracy(predictions, references) == pytest.approx(19 / 30)
    assert field_accuracy(predictions, references) == [
        {"field": "year", "accuracy": 2 / 3, "errors": 1}, {"field": "month", "accuracy": 1 / 3, "errors": 2},
        {"field": "day", "accuracy": 2 / 3, "errors": 1}]
