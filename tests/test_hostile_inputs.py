"""Malformed and hostile input, as a new user or a tester types it: every case is exit 2 (130 for Ctrl-C), one line
on stderr naming what is wrong, no traceback, nothing written outside --out, and an earlier run left intact."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seqlab.cli import main
from tests.conftest import TINY_DATES

ROOT = Path(__file__).resolve().parents[1]
TINY_NB = ["--quiet"]
TINY_LM = ["--model.embed_dim=16", "--model.hidden_size=32", "--model.num_layers=1", "--train.steps=4",
           "--train.eval_every=4", "--train.batch_size=8", "--data.seq_len=32", "--sample.max_new_tokens=5",
           "--sample.n=1", "--quiet"]
TINY_TAGGER = ["--model.embed_dim=16", "--model.hidden_size=16", "--model.char_embed_dim=8",
               "--model.char_hidden_size=8", "--train.steps=4", "--train.eval_every=4", "--train.batch_size=16",
               "--quiet"]


def one_line_error(capsys, code: int, expected_code: int = 2, *, says: str = "") -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "warning:" not in line]
    assert code == expected_code, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert says in lines[0], lines[0]
    return lines[0]


def fingerprint(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def dates_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hostile") / "dates"
    assert main(["train", "dates_transformer", "--out", str(out), *TINY_DATES]) == 0
    return out


@pytest.fixture(scope="module")
def nb_run(tmp_path_factory, data_dir) -> Path:
    out = tmp_path_factory.mktemp("hostile") / "nb"
    assert main(["train", "sst2_nb", "--out", str(out), "--data-dir", str(data_dir), *TINY_NB]) == 0
    return out


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory, data_dir) -> Path:
    out = tmp_path_factory.mktemp("hostile") / "lm"
    assert main(["train", "shakespeare_char_lstm", "--out", str(out), "--data-dir", str(data_dir), *TINY_LM]) == 0
    return out


def copy_run(run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / run.name
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("checkpoints", "tensorboard"))
    return copy


# ---- configs and overrides: refused before any work ----------------------------------------------------

@pytest.mark.parametrize(("argv", "says"), [
    (["--train.early_stopping.metric=exact_mach"], "early_stopping.metric='exact_mach': the dates task evaluates"),
    (["--train.early_stopping.metric=loss", "--train.early_stopping.mode=max"], "loss is better when smaller"),
    (["--model.d_model=abc"], "model.d_model"),
    (["--model.nokey=1"], "unknown config key 'model.nokey'"),
    (["--train.steps"], "needs a value"),
    (["--model.dropout=2"], "dropout"),
])
def test_bad_configs_are_refused_before_training(argv, says, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "dates_transformer", "--out", str(out), *argv, "--quiet"])
    one_line_error(capsys, code, says=says)
    assert not out.exists()  # nothing was written: checked before any work


def test_early_stopping_metric_is_checked_for_every_task(capsys):
    for recipe in ("sst2_bilstm", "shakespeare_char_lstm", "ner_conll_bilstm_crf", "multi30k_transformer"):
        code = main(["train", recipe, "--train.early_stopping.metric=acuracy", "--print-config"])
        one_line_error(capsys, code, says="early_stopping.metric='acuracy'")


def test_malformed_yaml_names_file_and_line(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("task: dates\nmodel:\n  d_model: [1, 2\n")
    one_line_error(capsys, main(["train", str(config), "--out", str(tmp_path / "r")]), says=f"{config}:")


def test_sizes_that_do_not_fit_in_memory_are_one_line(tmp_path, capsys):
    code = main(["train", "dates_transformer", "--out", str(tmp_path / "r"), "--model.d_ff=1000000000",
                 "--model.d_model=4096", "--model.n_heads=4", "--quiet"])
    one_line_error(capsys, code, says="not enough memory for what the config asks")


# ---- run directories: never replaced silently ----------------------------------------------------------

def test_training_into_an_existing_run_is_refused_and_the_run_kept(dates_run, tmp_path, capsys):
    run = copy_run(dates_run, tmp_path)
    before = fingerprint(run)
    one_line_error(capsys, main(["train", "dates_transformer", "--out", str(run), *TINY_DATES]),
                   says="already holds a run; continue it with --resume, or replace it with --overwrite")
    one_line_error(capsys, main(["demo", "--out", str(run), "--minutes", "1", "--quiet"]), says="--overwrite")
    assert fingerprint(run) == before
    assert main(["train", "dates_transformer", "--out", str(run), "--overwrite", *TINY_DATES]) == 0
    assert (run / "model.safetensors").is_file()
    one_line_error(capsys, main(["train", "dates_transformer", "--out", str(run), "--resume", "--overwrite",
                                 *TINY_DATES]), says="choose one")


@pytest.mark.parametrize("command", [
    ["train", "dates_transformer", *TINY_DATES], ["demo", "--minutes", "1", "--quiet"],
    ["viz", "gradients", "--steps", "5", "--hidden", "4", "--input", "4"],
])
def test_out_under_a_file_is_one_line(command, tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    code = main([*command, "--out", str(blocker / ("x.png" if command[0] == "viz" else "run"))])
    one_line_error(capsys, code, says="is a file")
    assert blocker.read_text() == "not a directory"


def test_eval_out_under_a_file_and_viz_out_a_directory(dates_run, tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    one_line_error(capsys, main(["eval", str(dates_run), "--out", str(blocker / "report")]), says="is a file")
    one_line_error(capsys, main(["viz", "gradients", "--out", str(tmp_path)]), says="is a directory")


def test_resume_with_a_corrupted_config_is_one_line(dates_run, tmp_path, capsys):
    run = copy_run(dates_run, tmp_path)
    (run / "config.json").write_text('{"task": "dates", "model": ')
    code = main(["train", "dates_transformer", "--out", str(run), "--resume", *TINY_DATES])
    one_line_error(capsys, code, says="config.json:1: invalid JSON")


# ---- run directories: only their own files, of bounded size, read -------------------------------------

@pytest.mark.parametrize(("damage", "says"), [
    (lambda run: (run / "config.json").write_text("[1, 2]"), "expected a JSON object"),
    (lambda run: (run / "config.json").write_bytes(b"\xff\xfe"), "not UTF-8"),
    (lambda run: (run / "vocab.json").write_text('{"type": "char", "tokens": 5}'), "vocab"),
    (lambda run: (run / "vocab.json").write_text('{"type": "char", "tokens": ["a"]}'), ""),
    (lambda run: (run / "model.safetensors").write_bytes(b"\0" * 64), "model.safetensors"),
    (lambda run: _replace_with_link(run / "model.safetensors", "/dev/zero"), "outside the run directory"),
    (lambda run: (run / "model.safetensors").unlink() or os.mkfifo(run / "model.safetensors"), "not a regular file"),
    (lambda run: _replace_with_link(run / "vocab.json", "../../outside.json"), "outside the run directory"),
    (lambda run: os.truncate(run / "vocab.json", 2**30), "more than a run's file may hold"),
])
def test_damaged_run_files_are_one_line(dates_run, tmp_path, capsys, damage, says):
    run = copy_run(dates_run, tmp_path)
    (tmp_path.parent / "outside.json").write_text("{}")
    damage(run)
    one_line_error(capsys, main(["predict", str(run), "4 July 2019"]), says=says)


def _replace_with_link(path: Path, target: str) -> None:
    path.unlink()
    path.symlink_to(target)


@pytest.mark.parametrize("tokenizer", ["../secret.json", "/etc/passwd", "/dev/zero"])
def test_a_run_cannot_point_outside_itself(nb_run, tmp_path, capsys, tokenizer):
    run = copy_run(nb_run, tmp_path)
    (tmp_path / "secret.json").write_text("{}")
    # a WordPiece classifier names its tokenizer file; a hostile one names a file elsewhere
    config = json.loads((run / "config.json").read_text())
    config.update(model_type="rnn")
    (run / "config.json").write_text(json.dumps(config))
    (run / "vocab.json").write_text(json.dumps({"type": "wordpiece", "tokenizer": tokenizer}))
    from seqlab.tasks.rundir import read_run_text

    with pytest.raises(Exception, match=r"outside the run directory|relative to it|not a regular file"):
        read_run_text(run, tokenizer)
    one_line_error(capsys, main(["predict", str(run), "fine"]))


def test_naive_bayes_run_with_foreign_weights_is_one_line(nb_run, tmp_path, capsys):
    run = copy_run(nb_run, tmp_path)
    (run / "model.safetensors").write_bytes(b"PK\x03\x04 a zip file, not safetensors")
    one_line_error(capsys, main(["predict", str(run), "a fine film"]), says="not a readable safetensors file")


# ---- input lines -----------------------------------------------------------------------------------------

def test_file_and_stdin_read_the_same_lines_and_refuse_the_same_bytes(dates_run, tmp_path, capsys, monkeypatch):
    text = "4 July 2019\f\n\n2019 07 04\u2028\n"  # a form feed and U+2028 do not end lines
    source = tmp_path / "in.txt"
    source.write_text(text, encoding="utf-8")
    assert main(["predict", str(dates_run), "--file", str(source)]) == 0
    from_file = capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(text))
    assert main(["predict", str(dates_run)]) == 0
    assert capsys.readouterr().out == from_file and from_file.count("\n") == 3
    for data, says in [(b"ok\n\x00\x01binary\n", ":2: binary data"), (b"ok\nbad \xff\n", ":2: not UTF-8")]:
        source.write_bytes(data)
        one_line_error(capsys, main(["predict", str(dates_run), "--file", str(source)]), says=says)
        proc = subprocess.run([sys.executable, "-m", "seqlab", "predict", str(dates_run)], input=data,
                              capture_output=True, cwd=ROOT)
        assert proc.returncode == 2 and f"standard input{says}".encode() in proc.stderr, proc.stderr


def test_text_and_file_together_is_an_error(dates_run, tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_text("4 July 2019\n")
    one_line_error(capsys, main(["predict", str(dates_run), "5 May 2020", "--file", str(source)]), says="not both")
    one_line_error(capsys, main(["predict", str(dates_run), "--file", str(tmp_path)]), says="not a regular file")


def test_stdin_answers_each_line_as_it_arrives(dates_run):
    """A pipe with a gap: the first answer comes before the second line is written."""
    proc = subprocess.Popen([sys.executable, "-m", "seqlab", "predict", str(dates_run)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        proc.stdin.write(b"4 July 2019\n")
        proc.stdin.flush()
        first = proc.stdout.readline()  # blocks until answered: stdin is still open
        assert first.endswith(b"\n")
        proc.stdin.write(b"5 May 2020\n")
        proc.stdin.close()
        assert len(proc.stdout.read().splitlines()) == 1
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()


def test_control_characters_in_model_output_are_escaped():
    from seqlab.cli import escape_controls

    assert escape_controls("a\x1b[31mred\rb\nc\u2028") == "a\\x1b[31mred\\rb\\nc\\u2028"
    assert escape_controls("line one\nline\ttwo\x07", keep_layout=True) == "line one\nline\ttwo\\x07"


# ---- CLI values: bounded -------------------------------------------------------------------------------

@pytest.mark.parametrize(("argv", "says"), [
    (["--beam", "0"], "--beam: must lie in 1..64"),
    (["--beam", "1000000"], "--beam: must lie in 1..64"),
    (["--alpha", "nan"], "--alpha"),
])
def test_decoding_options_are_bounded(dates_run, argv, says, capsys):
    one_line_error(capsys, main(["translate", str(dates_run), "4 July 2019", *argv]), says=says)


@pytest.mark.parametrize(("argv", "says"), [
    (["--seed", str(2**64)], "--seed: must lie in 0.."),
    (["--seed", "-1"], "--seed"),
    (["--max-new-tokens", "-1"], "--max-new-tokens"),
    (["--max-new-tokens", str(10**12)], "--max-new-tokens"),
    (["-n", "0"], "-n"),
    (["--temperature", "inf"], "--temperature"),
    (["--top-k", "0"], "--top-k"),
])
def test_generation_options_are_bounded(lm_run, argv, says, capsys):
    one_line_error(capsys, main(["generate", str(lm_run), "To", *argv]), says=says)


def test_eval_scores_the_split_asked_for_or_refuses(lm_run, data_dir, tmp_path, capsys):
    code = main(["eval", str(lm_run), "--split", "test", "--data-dir", str(data_dir), "--out", str(tmp_path / "r")])
    one_line_error(capsys, code, says="tinyshakespeare has the split(s) train, validation; got 'test'")
    assert main(["eval", str(lm_run), "--data-dir", str(data_dir), "--out", str(tmp_path / "r"), "--json"]) == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert "eval_validation_beam1" in metrics and not any(k.startswith("eval_test") for k in metrics)


# ---- the top level -----------------------------------------------------------------------------------------

def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(monkeypatch, capsys):
    def broken(args):
        raise TypeError("something inside seqlab broke")

    monkeypatch.setattr("seqlab.cli.cmd_demo", broken)
    line = one_line_error(capsys, main(["demo"]), 1, says="TypeError: something inside seqlab broke")
    assert line.endswith("(run with --debug for the traceback)")
    with pytest.raises(TypeError):
        main(["demo", "--debug"])


def test_sigint_saves_the_checkpoint_and_exits_130(tmp_path):
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "seqlab", "train", "dates_transformer", "--out", str(out), *TINY_DATES,
            "--train.steps=100000", "--train.eval_every=100000", "--train.checkpoint_every=100000"]
    proc = subprocess.Popen(argv, cwd=ROOT, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 120
    while not (out / "config.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # into the training loop
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "SIGINT at step" in err and "continue with --resume" in err and "Traceback" not in err
    assert (out / "checkpoints" / "checkpoint.safetensors").is_file()
    resumed = subprocess.run([*argv[:-3], "--train.steps=1", "--resume"], cwd=ROOT, capture_output=True, text=True)
    assert "resumed from step" in resumed.stderr or "resumed from step" in resumed.stdout, resumed.stderr


# ---- start-up: what each command imports ---------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["--help"], ["train", "--help"], ["train", "dates_transformer", "--print-config"],
    ["train", "ner_conll_bilstm_crf", "--print-config"], ["data", "list"], ["text", "stats", "README.md"],
    ["viz", "--help"],
])
def test_light_commands_do_not_import_torch_or_matplotlib(argv):
    heavy = "{'torch', 'matplotlib', 'sklearn', 'transformers'}"
    code = (f"import sys\nfrom seqlab.cli import main\nmain({argv!r})\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy}), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.stderr.strip().splitlines()[-1] == "[]", proc.stderr


def test_a_prediction_does_not_import_matplotlib(dates_run):
    code = (f"import sys\nfrom seqlab.cli import main\nmain(['predict', {str(dates_run)!r}, '4 July 2019'])\n"
            "print('matplotlib' in sys.modules, file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.stderr.strip().splitlines()[-1] == "False", proc.stderr
