"""The bag-of-words recipes on real SST-2: naive Bayes fitted in full (seconds), logistic regression and the
MLP briefly; their run directories load back and predict."""

import json

import numpy as np
import pytest

import seqlab
from seqlab.cli import main


def _train(config: str, out, data_dir, extra: list[str] = ()) -> dict:
    assert main(["train", config, "--out", str(out), "--data-dir", str(data_dir), "--quiet", *extra]) == 0
    return json.loads((out / "metrics.json").read_text())


def test_sst2_naive_bayes_reaches_the_lecture_baseline(tmp_path, data_dir, capsys):
    """Binarized multinomial NB on words + bigrams: 0.814 on the SST-2 dev set (the recipe's target is 0.80)."""
    out = tmp_path / "nb"
    metrics = _train("configs/sst2_nb.yaml", out, data_dir)
    assert metrics["model_type"] == "nb" and metrics["n_examples"] == 872
    assert metrics["accuracy"] >= 0.80 and metrics["roc_auc"] >= 0.85
    capsys.readouterr()
    assert main(["predict", str(out), "a gorgeous , witty , seductive movie .", "dull and lifeless"]) == 0
    labels = [line.split("\t")[0] for line in capsys.readouterr().out.strip().splitlines()]
    assert labels == ["positive", "negative"]
    vocab = json.loads((out / "vocab.json").read_text())
    assert vocab["type"] == "bag_of_words" and vocab["input"] == "binary" and "not good" in vocab["terms"]


@pytest.mark.parametrize("config,extra", [
    ("configs/imdb_logreg.yaml", ["--data.dataset=sst2", "--data.test_split=validation", "--logreg.max_iter=3"]),
    ("configs/sst2_mlp.yaml", ["--mlp.hidden_sizes=[8]", "--train.steps=4", "--train.eval_every=4",
                               "--train.batch_size=32"]),
])
def test_logreg_and_mlp_runs_load_back_with_the_same_predictions(tmp_path, data_dir, config, extra):
    out = tmp_path / "run"
    metrics = _train(config, out, data_dir, extra)
    assert metrics["split"] == "validation" and 0 <= metrics["accuracy"] <= 1
    model = seqlab.load(out)
    proba = model.predict_proba(["an utterly charming film", "a waste of time"])
    assert proba.shape == (2, 2) and np.allclose(proba.sum(1), 1)
    again = seqlab.load(out).predict_proba(["an utterly charming film", "a waste of time"])
    np.testing.assert_allclose(proba, again)
