"""The Multi30k translation recipe end to end with tiny models and a few steps: the run directory, BLEU
against the real references, `seqlab translate` (text, --file, --beam), `seqlab eval`, the attention plots,
and one-line messages for empty, unknown and over-long input."""

import json

import pytest

import seqlab
from seqlab.cli import main

TINY = ["--data.vocab_size=600", "--data.max_output_tokens=12", "--data.eval_beam=2", "--train.steps=4",
        "--train.eval_every=4", "--train.batch_size=16", "--quiet"]
TINY_RNN = ["--rnn.embed_dim=16", "--rnn.encoder_hidden=8", "--rnn.hidden_size=16", "--rnn.attention_dim=8"]
TINY_TRANSFORMER = ["--transformer.d_model=16", "--transformer.n_heads=2", "--transformer.d_ff=32",
                    "--transformer.n_encoder_layers=1", "--transformer.n_decoder_layers=1"]


def _train(config: str, out, data_dir, extra: list[str]) -> dict:
    assert main(["train", config, "--out", str(out), "--data-dir", str(data_dir), *TINY, *extra]) == 0
    return json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def bahdanau(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("runs") / "bahdanau"
    return out, _train("configs/multi30k_gru_bahdanau.yaml", out, data_dir, TINY_RNN)


@pytest.fixture(scope="module")
def transformer(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("runs") / "transformer"
    return out, _train("configs/multi30k_transformer.yaml", out, data_dir,
                       [*TINY_TRANSFORMER, "--data.source=en", "--data.target=de"])


def test_rnn_run_scores_test2016_and_plots_its_alignment(bahdanau):
    out, metrics = bahdanau
    assert metrics["n_sentences"] == 1000 and metrics["direction"] == "de-en" and metrics["beam_size"] == 2
    assert 0 <= metrics["bleu"] <= 100 and 0 <= metrics["bleu_greedy"] <= 100 and metrics["chrf"] > 0
    assert metrics["steps"] == 4 and metrics["train_seconds"] > 0
    for name in ("config.json", "vocab.json", "model.safetensors", "attention.png", "learning_curve.png"):
        assert (out / name).is_file(), name
    assert not (out / "attention_heads.png").exists()  # one attention, no heads


def test_transformer_run_goes_english_to_german_with_per_head_plots(transformer):
    out, metrics = transformer
    assert metrics["direction"] == "en-de" and metrics["model_type"] == "transformer"
    assert (out / "attention_heads.png").is_file() and (out / "attention.png").is_file()
    vocab = json.loads((out / "vocab.json").read_text())
    assert vocab["shared"] is True and vocab["target"] is None
    config = json.loads((out / "config.json").read_text())
    assert config["data"]["example"].startswith("Five people")  # the plots' sentence is in the source language


def test_api_translates_and_returns_attention(bahdanau, transformer):
    for out, _ in (bahdanau, transformer):
        model = seqlab.load(out)
        outputs = model.translate(["Ein Mann fährt Fahrrad.", "Zwei Hunde spielen."], beam_size=3)
        assert len(outputs) == 2 and all(isinstance(o, str) for o in outputs)
        src, tgt, weights = model.attention("Ein Mann fährt Fahrrad.", heads=True)
        assert weights.shape[1:] == (len(tgt), len(src)) and src[0] == "\u2581Ein"
        assert abs(weights.sum(-1) - 1).max() < 1e-3


def test_translate_cli_text_file_and_beam(bahdanau, tmp_path, capsys):
    out, _ = bahdanau
    assert main(["translate", str(out), "Ein Mann fährt Fahrrad.", "--beam", "3"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 1
    batch = tmp_path / "in.txt"
    batch.write_text("Ein Mann.\nZwei Frauen lachen.\n", encoding="utf-8")
    assert main(["translate", str(out), "--file", str(batch)]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2


def test_translate_answers_a_blank_line_with_a_blank_line_and_bad_bytes_by_number(bahdanau, tmp_path, capsys):
    batch = tmp_path / "in.txt"
    batch.write_text("Ein Mann.\n\nZwei Frauen.\n", encoding="utf-8")
    assert main(["translate", str(bahdanau[0]), "--file", str(batch)]) == 0
    lines = capsys.readouterr().out.split("\n")
    assert len(lines) == 4 and lines[0] and lines[1] == "" and lines[2]  # aligned with the input lines
    batch.write_bytes("Ein Mann.\nZwei Frauen \xe4.\n".encode("latin-1"))
    assert main(["translate", str(bahdanau[0]), "--file", str(batch)]) == 2
    assert f"{batch}:2: not UTF-8 text" in capsys.readouterr().err


def test_unknown_characters_and_long_inputs_warn_in_one_line(bahdanau, capsys):
    assert main(["translate", str(bahdanau[0]), "Ein Mann \u2603 fährt."]) == 0
    assert "warning: input 1: '\u2603' not in the vocabulary (read as <unk>)" in capsys.readouterr().err
    long = " ".join(["Hund"] * 400)
    with pytest.warns(UserWarning, match="longer than 128 tokens and were truncated"):
        seqlab.load(bahdanau[0]).translate(long)


def test_eval_cli_writes_report(bahdanau, data_dir, tmp_path, capsys):
    report_dir = tmp_path / "report"
    assert main(["eval", str(bahdanau[0]), "--data-dir", str(data_dir), "--split", "validation",
                 "--out", str(report_dir)]) == 0
    text = capsys.readouterr().out
    assert "bleu" in text and "validation" in text
    assert (report_dir / "attention.png").is_file()


def test_config_rejects_bad_languages_and_vocab():
    from seqlab.tasks.translate import TranslateData

    with pytest.raises(ValueError, match="different languages"):
        TranslateData(source="en", target="en")
    with pytest.raises(ValueError, match="vocab must be"):
        TranslateData(vocab="chars")


def test_example_sentence_follows_the_source_language_unless_given():
    from seqlab.tasks.translate import TranslateData

    assert TranslateData(source="de", target="en").example.startswith("Fünf Leute")
    assert TranslateData(source="fr", target="en").example.startswith("Cinq personnes")
    assert TranslateData(source="en", target="de", example="A dog runs.").example == "A dog runs."


def test_word_vocabularies_are_separate_per_language(tmp_path, data_dir):
    out = tmp_path / "words"
    metrics = _train("configs/multi30k_gru.yaml", out, data_dir, [*TINY_RNN, "--data.vocab=word"])
    vocab = json.loads((out / "vocab.json").read_text())
    assert vocab["shared"] is False and vocab["target"] is not None
    config = json.loads((out / "config.json").read_text())
    assert config["rnn"]["share_embeddings"] is False and config["rnn"]["attention"] == "none"
    assert metrics["n_sentences"] == 1000 and not (out / "attention.png").exists()  # no attention to plot
    model = seqlab.load(out)
    with pytest.raises(seqlab.SeqlabError, match="no attention"):
        model.attention("Ein Mann.")
