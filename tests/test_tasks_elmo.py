"""ELMo end to end with tiny models: a biLM trained by the lm task (forward and backward perplexities, generation),
its frozen layers feeding a NER tagger and an SST-2 classifier (the mix learnt, saved, reported and plotted, the run
self-contained), the nearest-contexts command, and the one-line refusals."""

import json

import numpy as np
import pytest
import torch

import seqlab
from seqlab.cli import main
from seqlab.models.elmo import BiLM, ElmoFeatures, layer_weights

TINY_BILM = ["--train.steps=20", "--train.eval_every=1000", "--train.batch_size=8", "--data.seq_len=16",
             "--data.eval_batch_size=500", "--elmo.proj_size=16", "--elmo.hidden_size=32", "--elmo.char_embed_dim=4",
             "--elmo.filters=[[1,8],[2,8],[3,16]]", "--sample.max_new_tokens=5", "--optim.warmup_steps=5", "--quiet"]


@pytest.fixture(scope="module")
def bilm_run(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("runs") / "bilm"
    assert main(["train", "configs/wikitext2_elmo.yaml", "--out", str(out), "--data-dir", str(data_dir),
                 *TINY_BILM]) == 0
    return out


@pytest.fixture(scope="module")
def ner_run(tmp_path_factory, data_dir, bilm_run):
    out = tmp_path_factory.mktemp("runs") / "ner"
    assert main(["train", "configs/ner_conll_bilstm_crf_elmo.yaml", "--out", str(out), "--data-dir", str(data_dir),
                 f"--elmo.bilm={bilm_run}", "--train.steps=12", "--train.eval_every=6", "--model.hidden_size=16",
                 "--model.embed_dim=16", "--quiet"]) == 0
    return out


def test_bilm_run_reports_both_directions(bilm_run):
    metrics = json.loads((bilm_run / "metrics.json").read_text())
    assert metrics["model_type"] == "elmo" and metrics["steps"] == 20
    forward, backward = metrics["forward_perplexity"], metrics["backward_perplexity"]
    assert forward != backward
    assert metrics["perplexity"] == pytest.approx((forward * backward) ** 0.5, rel=1e-6)  # exp(mean of the losses)
    assert 1 < forward < 33278 and 1 < backward < 33278  # below the uniform guess over WikiText-2's words
    lm = seqlab.load(bilm_run)
    assert isinstance(lm.model, BiLM)
    assert lm.generate("The meaning of", max_new_tokens=8, seed=0)[0].startswith("The meaning of")


def test_features_load_from_the_run_without_the_softmax(bilm_run):
    features = ElmoFeatures.from_run(bilm_run)
    assert features.bilm.head is None and features.output_size == 32
    full = seqlab.load(bilm_run).model
    chars = torch.tensor([[[257, 100, 101, 258], [257, 80, 258, 0]]])
    mask = torch.ones(1, 2, dtype=torch.bool)
    torch.testing.assert_close(features.frozen_layers(chars, mask), full.layers(chars, mask))


def test_tagger_with_elmo_learns_its_mix_and_is_self_contained(ner_run, bilm_run, data_dir, tmp_path):
    metrics = json.loads((ner_run / "metrics.json").read_text())
    weights = metrics["elmo_layer_weights"]
    assert len(weights) == 3 and sum(weights) == pytest.approx(1, abs=1e-3) and weights != [1 / 3] * 3
    assert metrics["trainable_parameters"] < metrics["parameters"]  # the biLM is frozen
    assert (ner_run / "elmo_layer_weights.png").is_file()
    config = json.loads((ner_run / "config.json").read_text())
    assert config["elmo"]["model"]["proj_size"] == 16  # the biLM's config travels with the run
    moved = tmp_path / "bilm_gone"
    bilm_run.rename(moved)  # the tagger's run holds the biLM's weights: it loads without the biLM run
    try:
        tagger = seqlab.load(ner_run)
        tags = tagger.tag("John lives in Paris .")
        assert [t for t, _ in tags] == ["John", "lives", "in", "Paris", "."]
        assert layer_weights(tagger.model)["elmo_layer_weights"] == weights
    finally:
        moved.rename(bilm_run)
    out = tmp_path / "weights.png"
    assert main(["viz", "elmo-weights", str(ner_run), "--out", str(out)]) == 0
    assert out.is_file()


def test_classifier_with_elmo(bilm_run, data_dir, tmp_path):
    out = tmp_path / "sst2"
    assert main(["train", "configs/sst2_bilstm_elmo.yaml", "--out", str(out), "--data-dir", str(data_dir),
                 f"--elmo.bilm={bilm_run}", "--train.steps=8", "--train.eval_every=8", "--rnn.hidden_size=8",
                 "--rnn.embed_dim=8", "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["elmo_layer_weights"]) == 3 and 0 <= metrics["accuracy"] <= 1
    predictor = seqlab.load(out)
    proba = predictor.predict_proba(["A gripping , funny film .", "dull"])
    assert proba.shape == (2, 2)


def test_contexts_command_prints_each_sentence_neighbours(bilm_run, tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the team will play football .\nactors play Hamlet on stage .\nno such word here\n")
    assert main(["vectors", "contexts", str(bilm_run), "play", "We play football .", "They play Hamlet .",
                 "--corpus", str(corpus), "-k", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("[play]") == 4 and "'We play football .'" in out


def test_refusals_are_one_line(bilm_run, ner_run, data_dir, tmp_path, capsys):
    cases = [
        (["train", "configs/ner_conll_bilstm_crf_elmo.yaml", "--elmo.bilm", str(ner_run)], "is not a biLM run"),
        (["train", "configs/ner_conll_minilm_features.yaml", f"--elmo.bilm={bilm_run}"], "adds ELMo vectors"),
        (["train", "configs/wikitext2_elmo.yaml", "--data.train_order=stream"], "random windows"),
        (["train", "configs/wikitext2_elmo.yaml", "--data.dataset=tinyshakespeare"], "reads words"),
        (["vectors", "contexts", str(bilm_run), "play", "play", "-k", "0"], "must be at least 1"),
        (["vectors", "contexts", str(bilm_run), "play", "no such word"], "is not a word of"),
        (["vectors", "contexts", str(ner_run), "play", "play"], "not a biLM run"),
        (["viz", "elmo-weights", str(bilm_run)], "reads no ELMo vectors"),
    ]
    for args, message in cases:
        code = main([*args, "--out", str(tmp_path / "x"), "--data-dir", str(data_dir)] if args[0] == "train" else args)
        err = capsys.readouterr().err
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (args, err)


def test_the_attention_view_of_an_elmo_tagger_is_its_task_mix(ner_run):
    from seqlab.nn.charcnn import ScalarMix
    from seqlab.serve.adapters import attention_view
    from seqlab.tasks import load_run

    tagger = load_run(ner_run)
    view = attention_view(tagger, "EU rejects German call")
    mix = next(m for m in tagger.model.modules() if isinstance(m, ScalarMix))
    assert view.family == "elmo" and view.kind == "mix" and len(view.columns) == 3  # characters, LSTM 1, LSTM 2
    np.testing.assert_allclose(view.weights[0, 0, 0], mix.weights().detach().numpy(), atol=1e-6)
    assert view.output == " ".join(f"{t}/{tag}" for t, tag in tagger.tag("EU rejects German call"))
