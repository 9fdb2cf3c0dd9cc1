import json
import subprocess
import sys

import pytest

import seqlab
from seqlab.cli import main
from tests.conftest import TINY_DATES


def test_train_writes_a_complete_run_directory(run_dir):
    for name in ["config.json", "metrics.json", "vocab.json", "model.safetensors", "history.json",
                 "learning_curve.png", "attention.png"]:
        assert (run_dir / name).is_file(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0.0 <= metrics["exact_match"] <= 1.0 and metrics["n_test"] == 50 and metrics["steps"] == 20
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"]["d_model"] == 32 and config["task"] == "dates"
    assert (run_dir / "attention.png").read_bytes()[:4] == b"\x89PNG"


def test_translate_and_predict(run_dir, capsys, monkeypatch):
    assert main(["translate", str(run_dir), "4th of July 2019", "--beam", "3"]) == 0
    assert capsys.readouterr().out.count("\n") == 1
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("07/04/19\n4 Jul. '19\n"))
    assert main(["predict", str(run_dir)]) == 0
    assert capsys.readouterr().out.count("\n") == 2


def test_python_api_matches_cli(run_dir, capsys):
    model = seqlab.load(run_dir)
    main(["translate", str(run_dir), "le 1er mai 2020"])
    assert capsys.readouterr().out.strip() == model.translate(["le 1er mai 2020"])[0]


def test_eval_rescores_and_records(run_dir, capsys):
    assert main(["eval", str(run_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert result["exact_match"] == metrics["exact_match"] == metrics["eval_test_beam1"]["exact_match"]


@pytest.mark.parametrize("argv,message", [
    (["train", "configs/dates_transformer.yaml", "--model.d_modle=3"], "unknown config key 'model.d_modle'"),
    (["train", "configs/dates_transformer.yaml", "--bogus"], "unknown option '--bogus'"),
    (["train", "configs/dates_transformer.yaml", "--train.steps=many"], "'train.steps' expects int"),
    (["train", "no/such/config.yaml"], "cannot read config no/such/config.yaml"),
    (["translate", "no/such/run", "x"], "no/such/run: no such model directory"),
    (["eval", "."], "missing config.json"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_empty_text_and_wrong_command_for_model(run_dir, capsys):
    assert main(["translate", str(run_dir), "  "]) == 2
    assert "input 1 is empty" in capsys.readouterr().err
    assert main(["generate", str(run_dir)]) == 2
    assert "use: seqlab translate" in capsys.readouterr().err


def test_console_entry_point_help_and_usage_errors():
    run = lambda *args: subprocess.run([sys.executable, "-m", "seqlab", *args], capture_output=True, text=True)  # noqa: E731
    for command in ["demo", "train", "eval", "translate", "predict", "generate"]:
        result = run(command, "--help")
        assert result.returncode == 0 and "usage: seqlab " + command in result.stdout
    result = run("demo", "--no-such-flag")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("override,message", [
    ("--optim.schedule=foo", "schedule must be one of"),
    ("--optim.name=adam", "name must be one of adamw, sgd"),
    ("--train.precision=fp8", "precision must be one of"),
    ("--train.eval_every=0", "eval_every must be at least 1"),
    ("--model.n_heads=0", "n_heads must be at least 1"),
    ("--model.max_len=16", "max_len=16 is too short"),
    ("--model.activation=tanh", "activation must be one of"),
    ("--train.device=tpu", "device must be"),
])
def test_bad_config_values_are_one_line_errors(override, message, tmp_path, capsys):
    assert main(["train", "configs/dates_transformer.yaml", "--out", str(tmp_path / "r"), override]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_stdin_blank_lines_stay_aligned_and_bad_beams_are_refused(run_dir, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("4 July 2019\n\n07/04/19\n"))
    assert main(["translate", str(run_dir)]) == 0
    lines = capsys.readouterr().out.split("\n")
    assert len(lines) == 4 and lines[1] == "" and lines[3] == ""  # 3 outputs, the blank one kept
    assert main(["translate", str(run_dir), "--beam", "0", "x"]) == 2
    assert "--beam: must lie in 1..64, got 0" in capsys.readouterr().err


def test_damaged_run_directory_is_a_one_line_error(run_dir, tmp_path, capsys):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(run_dir, bad)
    (bad / "model.safetensors").write_bytes(b"garbage")
    assert main(["translate", str(bad), "x"]) == 2
    assert "not a readable safetensors file" in capsys.readouterr().err
    (bad / "config.json").write_text("[1]")
    assert main(["translate", str(bad), "x"]) == 2
    assert "config.json: expected a JSON object" in capsys.readouterr().err


def test_top_level_config_keys_can_be_overridden(tmp_path):
    out = tmp_path / "r"
    assert main(["train", "configs/dates_transformer.yaml", "--out", str(out), *TINY_DATES,
                 "--stop_at_dev_exact_match=0.5"]) == 0
    assert json.loads((out / "config.json").read_text())["stop_at_dev_exact_match"] == 0.5


def test_print_config_shows_the_resolved_config(capsys):
    import yaml

    assert main(["train", "configs/dates_transformer.yaml", "--print-config", "--optim.lr=3e-4",
                 "--train.grad_accum_steps", "2"]) == 0
    config = yaml.safe_load(capsys.readouterr().out)
    assert config["optim"]["lr"] == 3e-4 and config["train"]["grad_accum_steps"] == 2
    assert config["task"] == "dates" and config["train"]["early_stopping"]["metric"] is None
