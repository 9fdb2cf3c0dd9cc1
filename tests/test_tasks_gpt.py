"""The GPT language-model recipe end to end on Tiny Shakespeare with a tiny model and a few steps (characters and
byte-level BPE): the run, its evaluation, streaming generation from the CLI and the API, the export to Hugging Face;
and the pieces the recipe stands on (evaluation windows, the text stream, the repetition penalty)."""

import math

import pytest
import torch
from transformers import GPT2LMHeadModel
from transformers.generation.logits_process import RepetitionPenaltyLogitsProcessor

import seqlab
from seqlab.cli import main
from seqlab.generation import generate, generate_tokens, penalise_repetition
from seqlab.models.gpt import GPT, GPTConfig
from seqlab.tasks.lm import TextStream, window_loss, windows

TINY = ["--train.steps=30", "--train.eval_every=30", "--train.batch_size=8", "--data.seq_len=32",
        "--gpt.n_positions=32", "--gpt.n_layers=1", "--gpt.d_model=32", "--gpt.n_heads=2", "--sample.max_new_tokens=20",
        "--sample.n=1", "--train.precision=fp32"]


def _train(out, data_dir, extra=()) -> dict:
    code = main(["train", "configs/shakespeare_char_gpt_nanogpt_cpu.yaml", "--out", str(out), "--data-dir",
                 str(data_dir), "--quiet", *TINY, *extra])
    assert code == 0
    import json

    return json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def char_gpt(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("runs") / "gpt"
    return out, _train(out, data_dir)


@pytest.fixture(scope="module")
def bpe_gpt(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("runs") / "gpt_bpe"
    return out, _train(out, data_dir, ["--data.tokenizer=bpe", "--data.bpe_vocab_size=400"])


def test_char_gpt_run_reports_its_loss_tokens_and_samples(char_gpt):
    metrics = char_gpt[1]
    assert metrics["model_type"] == "gpt" and metrics["level"] == "char" and metrics["split"] == "validation"
    assert metrics["bits_per_char"] == pytest.approx(metrics["loss"] / math.log(2))
    assert metrics["train_tokens"] == 30 * 8 * 32 and metrics["steps"] == 30
    assert 1.5 < metrics["loss"] < math.log(70)  # learned something, from the uniform ln(V) it starts near
    assert metrics["samples"][0].startswith("To be or not to be")
    lecture = metrics["more_samples"]["Once upon a time in a faraway land,"]  # the lectures' prompt, sampled too
    assert len(lecture) == 1 and lecture[0].startswith("e upon a time in a faraway land,")  # its last 32 chars


def test_generate_cli_streams_what_the_api_returns(char_gpt, capsys):
    out = str(char_gpt[0])
    lm = seqlab.load(out)
    expected = lm.generate("ROMEO:", max_new_tokens=40, seed=5, top_k=10)[0]
    assert "".join(lm.stream("ROMEO:", max_new_tokens=40, seed=5, top_k=10)) == expected[len("ROMEO:"):]
    assert main(["generate", out, "--prompt", "ROMEO:", "--max-new-tokens", "40", "--seed", "5", "--top-k", "10"]) == 0
    assert capsys.readouterr().out == expected + "\n"


def test_generation_options_of_the_cli(char_gpt, tmp_path, capsys):
    out = str(char_gpt[0])
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("ROMEO:\nJULIET:\n")
    assert main(["generate", out, "--file", str(prompts), "--max-new-tokens", "10", "--temperature", "0"]) == 0
    shown = capsys.readouterr().out.split("-" * 40 + "\n")
    assert shown[0].startswith("ROMEO:") and shown[1].startswith("JULIET:")
    assert main(["generate", out, "ROMEO:", "--max-new-tokens", "10", "--beam", "3"]) == 0
    beam = capsys.readouterr().out.strip()
    assert beam == seqlab.load(out).generate("ROMEO:", max_new_tokens=10, beam=3)[0]
    assert main(["generate", out, "ROMEO:", "--max-new-tokens", "30", "--num-samples", "2",
                 "--repetition-penalty", "1.3", "--seed", "1"]) == 0
    assert capsys.readouterr().out.count("ROMEO:") == 2


def test_a_long_prompt_keeps_its_last_tokens_and_generation_passes_the_context(char_gpt):
    lm = seqlab.load(str(char_gpt[0]))
    long_prompt = "To be, or not to be, that is the question. " * 3  # 132 characters, context 32
    with pytest.warns(UserWarning, match="longer than the model's context of 32: it reads the last 32"):
        text = lm.generate(long_prompt, max_new_tokens=50, temperature=0)[0]
    assert len(text) == len(long_prompt[-32:]) + 50  # 82 characters from a 32-character context


@pytest.mark.parametrize(("argv", "says"), [
    (["--top-p", "0"], "--top-p"), (["--max-new-tokens", "-3"], "--max-new-tokens"),
    (["--repetition-penalty", "0"], "--repetition-penalty"), (["--beam", "2", "-n", "2"], "use it with -n 1"),
    (["--file", "/nonexistent/prompts"], "no such file"),
])
def test_bad_generation_values_are_one_line_errors(char_gpt, argv, says, capsys):
    assert main(["generate", str(char_gpt[0]), *argv]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1


def test_export_loads_in_transformers_with_our_logits(char_gpt, tmp_path, capsys):
    assert main(["export", str(char_gpt[0]), str(tmp_path / "hf")]) == 0
    assert "GPT2LMHeadModel" in capsys.readouterr().out
    ref = GPT2LMHeadModel.from_pretrained(tmp_path / "hf").eval()
    ours = seqlab.load(str(char_gpt[0])).model
    x = torch.randint(0, ours.config.vocab_size, (2, 20))
    assert torch.allclose(ref(x).logits, ours(x), atol=1e-5)
    assert main(["export", str(char_gpt[0]), str(tmp_path / "hf")]) == 2  # not into a full directory


def test_bpe_gpt_counts_bits_per_character_and_streams_whole_characters(bpe_gpt, tmp_path):
    out, metrics = bpe_gpt
    assert metrics["level"] == "bpe"
    chars_per_token = metrics["loss"] / math.log(2) / metrics["bits_per_char"]
    assert 1.0 < chars_per_token < 4.0  # a 400-piece BPE holds a little over a character per token
    lm = seqlab.load(str(out))
    pieces = list(lm.stream("naïve ☃", max_new_tokens=15, seed=0))
    assert "".join(pieces) == lm.generate("naïve ☃", max_new_tokens=15, seed=0)[0][len("naïve ☃"):]
    # a piece never stops inside a character (an untrained model may still draw bytes that are no UTF-8 at all)
    assert not any(p.endswith("\ufffd") for p in pieces[:-1])
    lm.save_hf(tmp_path / "hf")
    assert (tmp_path / "hf" / "tokenizer.json").is_file()


# -- the parts ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("n", "context", "stride"), [(10, 4, 4), (10, 4, 2), (11, 4, 3), (3, 8, 8), (100, 16, 5)])
def test_windows_score_every_target_once(n, context, stride):
    scored = []
    for start, first in windows(n, context, stride):
        end = min(start + context, n - 1)
        assert end - start <= context and first > start
        scored += range(first, end + 1)
    assert scored == list(range(1, n))


def test_window_loss_is_the_sum_of_each_tokens_loss_given_its_window():
    torch.manual_seed(0)
    model = GPT.from_config(GPTConfig(vocab_size=11, n_positions=6, n_layers=1, n_heads=2, d_model=8)).eval()
    stream = torch.randint(0, 11, (23,))
    total, count = window_loss(model, stream, rows=3, context=6, stride=4)
    expected = 0.0
    for start, first in windows(23, 6, 4):
        logp = model(stream[None, start:start + 6]).log_softmax(-1)[0]  # (T, V)
        for t in range(first, min(start + 6, 22) + 1):
            expected -= logp[t - start - 1, stream[t]].item()
    assert count == 22 and total == pytest.approx(expected, rel=1e-5)


def test_text_stream_releases_whole_characters_only():
    data = "naïve ☃\nok".encode()
    stream = TextStream(lambda ids: bytes(ids).decode("utf-8", errors="replace"))
    pieces = [stream.add(b) for b in data] + [stream.flush()]
    assert "".join(pieces) == "naïve ☃\nok" and "\ufffd" not in "".join(pieces)


def test_repetition_penalty_is_hugging_faces():
    logits, seen = torch.randn(3, 20), torch.randint(0, 20, (3, 7))
    theirs = RepetitionPenaltyLogitsProcessor(1.3)(seen, logits.clone())
    assert torch.allclose(penalise_repetition(logits, seen, 1.3), theirs)


def test_the_iterator_is_the_loop():
    torch.manual_seed(0)
    model = GPT.from_config(GPTConfig(vocab_size=11, n_positions=16, n_layers=1, n_heads=2, d_model=8)).eval()
    prompt = torch.randint(0, 11, (2, 3))
    steps = list(generate_tokens(model, prompt, 6, temperature=0.9, generator=torch.Generator().manual_seed(1)))
    whole = generate(model, prompt, 6, temperature=0.9, generator=torch.Generator().manual_seed(1))
    assert torch.equal(torch.stack(steps, 1), whole[:, 3:])


def test_eval_stride_option_slides_the_windows(char_gpt, data_dir, capsys):
    out = str(char_gpt[0])
    assert main(["eval", out, "--stride", "8", "--json", "--data-dir", str(data_dir)]) == 0
    import json

    metrics = json.loads(capsys.readouterr().out)
    assert metrics["eval_stride"] == 8
    # the windows hold 32: a stride of 33 would skip tokens
    assert main(["eval", out, "--stride", "33", "--data-dir", str(data_dir)]) == 2
    assert "would skip tokens" in capsys.readouterr().err
