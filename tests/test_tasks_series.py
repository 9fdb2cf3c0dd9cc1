"""The series task end to end on real UCR data (tiny models, a few epochs), and its bad-input errors."""

from __future__ import annotations

import json
import math

import pytest
import torch

import seqlab
from seqlab.data.examples import Series
from seqlab.data.formats import DataFormatError, read_ucr
from seqlab.errors import ConfigError, SeqlabError
from seqlab.tasks import get_task
from seqlab.tasks.config import SeriesRunConfig
from seqlab.tasks.series import encode, real_values

TINY = {
    "keras": {"keras": {"head_size": 4, "heads": 2, "ff_dim": 2, "blocks": 1, "mlp_units": [8]}},
    "transformer": {"transformer": {"d_model": 16, "n_heads": 2, "d_ff": 16, "n_layers": 1}},
    "resnet": {"resnet": {"filters": [4, 8], "kernels": [3, 3]}},
    "cnn_lstm": {"cnn_lstm": {"filters": [4], "hidden": 4}},
    "lstm": {"lstm": {"hidden": 4}},
}


def _config(model_type: str, name: str = "ItalyPowerDemand", epochs: int = 2, **more) -> SeriesRunConfig:
    from seqlab.config import from_dict

    raw = {"model_type": model_type, "data": {"name": name}, "epochs": epochs,
           "train": {"batch_size": 16, "precision": "fp32"}, **TINY[model_type], **more}
    return from_dict(SeriesRunConfig, raw)


@pytest.mark.parametrize("model_type", list(TINY))
def test_train_eval_load_every_model(tmp_path, data_dir, model_type, capsys):
    task = get_task("series")
    out = tmp_path / model_type
    metrics = task.train(_config(model_type), out, progress=False, data_dir=data_dir)
    assert metrics["series"] == 1029 and metrics["classes"] == 2 and 0 <= metrics["accuracy"] <= 1
    assert metrics["n_train"] + metrics["n_dev"] == 67 and metrics["epochs_trained"] == 2
    for plot in ("examples.png", "class_means.png", "confusion_matrix.png", "learning_curve.png"):
        assert (out / plot).stat().st_size > 0
    assert (out / "attention_class_1.png").is_file() == (model_type in ("keras", "transformer"))
    clf = seqlab.load(out)
    assert clf.classes == [1, 2]
    test = task.evaluate(out, data_dir=data_dir)[0]
    assert test["accuracy"] == metrics["accuracy"]
    series = [[math.sin(t / 3) for t in range(24)], [0.0] * 24]
    predictions = clf.predict(series)
    probabilities = clf.probabilities(series)
    assert [label in (1, 2) for label, _ in predictions] == [True, True]
    assert torch.allclose(probabilities.sum(1), torch.ones(2))
    assert [p for _, p in predictions] == pytest.approx(probabilities.max(1).values.tolist())
    line = "\t".join(map(str, series[0]))
    assert clf.predict([line]) == predictions[:1]
    with pytest.raises(SeqlabError, match="input series 1: value 'x' is not a number"):
        clf.predict(["1.0 x 2.0"])
    if model_type == "lstm":  # the CLI reads a series per line
        from seqlab.cli import main

        capsys.readouterr()
        assert main(["predict", str(out), " ".join(map(str, series[1]))]) == 0
        label, p = capsys.readouterr().out.split()
        assert int(label) == predictions[1][0] and float(p) == pytest.approx(predictions[1][1], abs=1e-4)
        assert main(["predict", str(out), "1 2 oops"]) == 2
    if clf.has_attention:
        weights = clf.attention(series[0])
        assert len(weights) == 24 and all(w >= 0 for w in weights)


def test_keras_run_is_the_example(tmp_path, data_dir):
    """The full-size Keras model on GunPoint (150 steps): its parameter count, Adam 1e-4, batches of 64."""
    raw = _config("keras", "GunPoint", epochs=1)
    raw.keras.head_size, raw.keras.heads, raw.keras.ff_dim, raw.keras.blocks, raw.keras.mlp_units = 256, 4, 4, 4, [128]
    metrics = get_task("series").train(raw, tmp_path / "k", progress=False, data_dir=data_dir)
    # 4 blocks x 7,186 + the MLP 150 -> 128 -> 2
    assert metrics["parameters"] == 4 * 7186 + 150 * 128 + 128 + 128 * 2 + 2
    config = json.loads((tmp_path / "k" / "config.json").read_text())
    assert config["keras"]["length"] == 150 and config["optim"]["lr"] == 1e-4


def test_a_missing_value_inside_a_series_is_an_error_naming_it():
    assert real_values([1.0, 2.0, float("nan"), float("nan")], "x") == [1.0, 2.0]
    with pytest.raises(SeqlabError, match=r"GunPoint train, series 2: value nan at time step 2, inside the series"):
        encode([Series(1, [0.0, 1.0]), Series(1, [0.0, float("nan"), 1.0])], [1], "GunPoint train")
    with pytest.raises(SeqlabError, match="series 1: the series has no values"):
        encode([Series(1, [float("nan")])], [1], "GunPoint train")


def test_unequal_lengths_are_padded_and_masked():
    batch = encode([Series(1, [1.0, 2.0, 3.0]), Series(2, [4.0, float("nan"), float("nan")]), Series(1, [5.0])],
                   [1, 2], "x")
    assert batch.values.shape == (3, 3, 1) and batch.mask.sum(1).tolist() == [3, 1, 1]
    assert batch.label.tolist() == [0, 1, 0] and batch.values[1, 1:].abs().sum() == 0


def test_unequal_lengths_refused_by_the_keras_model_only(tmp_path, data_dir):
    from seqlab.tasks.series import fill_model_config

    cfg = _config("keras")
    with pytest.raises(SeqlabError, match="all series must have one length"):
        fill_model_config(cfg, 24, 2, equal_lengths=False)
    cfg = _config("transformer")
    fill_model_config(cfg, 24, 2, equal_lengths=False)
    assert cfg.transformer.patch >= 2


def test_a_test_class_unseen_in_training_is_an_error():
    with pytest.raises(SeqlabError, match="class 3 was not in the training data"):
        encode([Series(3, [1.0])], [1, 2], "ECG200 test")


def test_a_label_column_that_is_not_the_first_names_the_file_and_line(tmp_path):
    path = tmp_path / "bad_TRAIN.tsv"
    path.write_text("1\t0.5\t0.25\n0.5\t0.25\t1\n")
    with pytest.raises(DataFormatError, match=r"bad_TRAIN.tsv:2: .*the class label must be the first column"):
        read_ucr(path)


def test_the_staged_sets_match_their_data_summary(data_dir):
    import csv

    from seqlab.data import load
    from seqlab.data.datasets import UCR_LOCAL

    with open(data_dir / "ucr" / "DataSummary.csv") as f:
        rows = {r["Name"]: r for r in csv.DictReader(f)}
    assert len(UCR_LOCAL) == 20
    for name in ("Coffee", "Lightning2", "SonyAIBORobotSurface1"):
        train, test = (load("ucr", split, data_dir=data_dir, name=name) for split in ("train", "test"))
        row = rows[name]
        assert (len(train), len(test)) == (int(row["Train "]), int(row["Test "]))
        assert {len(s.values) for s in train + test} == {int(row["Length"])}
        assert len({s.label for s in train}) == int(row["Class"])


def test_config_refusals():
    with pytest.raises(ValueError, match="model_type"):
        SeriesRunConfig(model_type="rocket")
    with pytest.raises(ConfigError, match="dev_fraction"):
        _config("lstm", data={"name": "GunPoint", "dev_fraction": 1.0})
