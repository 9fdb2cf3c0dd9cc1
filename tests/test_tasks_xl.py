"""The Transformer-XL language-model recipe end to end, with a tiny model and a few steps on Tiny Shakespeare: training
in order with the memory carried, evaluation with the longer evaluation memory, generation from the CLI and the API;
the LSTM trained the same way (truncated BPTT); the stream batches both read."""

import json
import math

import pytest
import torch

import seqlab
from seqlab.cli import main
from seqlab.tasks.lm import StreamSegments, segment_loss

TINY = ["--data.dataset=tinyshakespeare", "--data.seq_len=16", "--data.eval_batch_size=64", "--train.steps=30",
        "--train.eval_every=30", "--train.batch_size=8", "--xl.n_layers=1", "--xl.d_model=32", "--xl.n_heads=2",
        "--xl.d_ff=64", "--xl.mem_len=16", "--xl.eval_mem_len=32", "--xl.adaptive_cutoffs=[20,40]",
        "--sample.max_new_tokens=20", "--sample.n=1", "--train.precision=fp32", "--train.max_minutes=30",
        "--optim.warmup_steps=5", "--optim.lr=0.003"]


@pytest.fixture(scope="module")
def char_xl(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("runs") / "xl"
    code = main(["train", "configs/wikitext2_xl.yaml", "--out", str(out), "--data-dir", str(data_dir), "--quiet",
                 *TINY])
    assert code == 0
    return out, json.loads((out / "metrics.json").read_text())


def test_xl_run_trains_on_the_stream_and_reports_its_loss(char_xl):
    metrics = char_xl[1]
    assert metrics["model_type"] == "xl" and metrics["level"] == "char" and metrics["steps"] == 30
    assert metrics["train_tokens"] == 30 * 8 * 16
    assert 1.5 < metrics["loss"] < math.log(65)  # learned something, from the uniform ln(V) it starts near
    assert metrics["samples"][0].startswith("The meaning of life is")


def test_xl_evaluation_uses_its_evaluation_memory(char_xl, data_dir):
    lm = seqlab.load(char_xl[0])
    from seqlab.tasks.lm import encode, read_stream, split_loss

    ids = encode(lm.vocab, read_stream(lm.config.data, "validation", data_dir))[:3000]
    rows = lm.config.data.eval_batch_size
    evaluated = split_loss(lm.model, ids, lm.config)
    assert evaluated == segment_loss(lm.model, ids, rows, 16, mem_len=32)  # eval_mem_len, not mem_len (16)
    assert evaluated[0] != segment_loss(lm.model, ids, rows, 16, mem_len=16)[0]
    assert evaluated[1] == rows * (2999 // rows)


def test_generate_cli_streams_what_the_api_returns(char_xl, capsys):
    out = str(char_xl[0])
    lm = seqlab.load(out)
    assert lm.context is None  # no window: the memory carries the text on
    expected = lm.generate("ROMEO:", max_new_tokens=60, seed=3, top_k=10)[0]
    assert len(expected) > len("ROMEO:")
    assert "".join(lm.stream("ROMEO:", max_new_tokens=60, seed=3, top_k=10)) == expected[len("ROMEO:"):]
    assert main(["generate", out, "--prompt", "ROMEO:", "--max-new-tokens", "60", "--seed", "3", "--top-k", "10"]) == 0
    assert expected in capsys.readouterr().out


def test_lstm_trains_by_truncated_bptt_with_an_adaptive_softmax(tmp_path, data_dir):
    out = tmp_path / "lstm"
    code = main(["train", "configs/wikitext2_lstm.yaml", "--out", str(out), "--data-dir", str(data_dir), "--quiet",
                 "--data.dataset=tinyshakespeare", "--data.seq_len=16", "--train.steps=20", "--train.eval_every=20",
                 "--train.batch_size=8", "--model.embed_dim=32", "--model.hidden_size=32",
                 "--model.adaptive_cutoffs=[20,40]", "--sample.max_new_tokens=10", "--optim.warmup_steps=5",
                 "--optim.lr=0.01"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    first_loss = float((out / "train_log.csv").read_text().splitlines()[1].split(",")[2])
    assert metrics["model_type"] == "rnn" and metrics["loss"] < first_loss - 0.5


def test_stream_segments_continue_each_row_and_mark_the_first():
    stream = torch.arange(101)
    batches = list(StreamSegments(stream, seq_len=5, batch_size=4))
    assert len(batches) == len(StreamSegments(stream, 5, 4)) == 5  # 25 tokens a row
    assert [bool(b["carry"]) for b in batches] == [False, True, True, True, True]
    assert batches[1]["inputs"][:, 0].tolist() == [5, 30, 55, 80]  # row b continues where it stopped
    assert torch.equal(batches[0]["targets"], batches[0]["inputs"] + 1)


@pytest.mark.parametrize(("recipe", "option", "says"), [
    ("wikitext2_gpt", "--data.train_order=stream", "a gpt has none"),
    ("wikitext2_xl", "--data.train_order=random", "an xl trains with its memory"),
    ("wikitext2_lstm", "--train.grad_accum_steps=2", "grad_accum_steps=1"),
])
def test_orders_that_would_carry_the_wrong_state_are_refused(recipe, option, says, tmp_path, capsys):
    assert main(["train", f"configs/{recipe}.yaml", "--out", str(tmp_path / "x"), option]) == 2
    assert says in capsys.readouterr().err


def test_cutoffs_beyond_the_vocabulary_are_a_one_line_error(tmp_path, data_dir, capsys):
    code = main(["train", "configs/wikitext2_xl.yaml", "--out", str(tmp_path / "x"), "--data-dir", str(data_dir),
                 "--data.dataset=tinyshakespeare", "--quiet"])
    assert code == 2
    assert "xl.adaptive_cutoffs=[2000, 10000] must lie below the vocabulary" in capsys.readouterr().err
