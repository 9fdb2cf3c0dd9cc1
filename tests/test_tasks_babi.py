"""The babi task end to end on the real bAbI files (tiny sizes): training with the paper's schedule, the per-task
error report, story reading from the CLI with attention per hop, and the one-line refusals of bad input."""

import json
import math
from pathlib import Path

import pytest

from seqlab.cli import main
from seqlab.data.formats import DataFormatError
from seqlab.errors import SeqlabError
from seqlab.tasks.babi import PaperSchedule, read_story
from seqlab.tasks.config import BabiRunConfig

TINY = ["--model.dim=16", "--schedule.epochs=4", "--schedule.halve_every=2", "--schedule.linear_start_epochs=2",
        "--quiet"]
STORY = "Mary moved to the bathroom.\nJohn went to the hallway.\nMary travelled to the garden.\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory, data_dir) -> Path:
    out = tmp_path_factory.mktemp("babi") / "qa1_qa6"
    assert main(["train", "configs/babi_memn2n_joint.yaml", "--out", str(out), "--data-dir", str(data_dir),
                 "--data.tasks=[1,6]", *TINY]) == 0
    return out


def test_training_reports_each_task_and_follows_the_schedule(run):
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["task_error"]) == {"1", "6"} and metrics["questions"] == 2000
    assert metrics["mean_error"] == pytest.approx(sum(metrics["task_error"].values()) / 2)
    assert metrics["failed_tasks"] == len(metrics["failed"]) == sum(e > 0.05 for e in metrics["task_error"].values())
    assert metrics["mean_error"] < 0.6  # learnt something in a few epochs (chance: ~0.85 for qa1, 0.5 for qa6)
    assert metrics["n_train"] == 1800 and metrics["n_dev"] == 200
    history = json.loads((run / "history.json").read_text())
    ended = [r for r in history if "linear_start_ended" in r]
    assert len(ended) == 1 and 1 <= ended[0]["linear_start_ended"] <= 2
    evals = [r for r in history if "eval_loss" in r]
    assert len(evals) == ended[0]["linear_start_ended"] + 4  # linear-start epochs, then the 4 epochs
    assert metrics["stopped_by"] == "4 epochs"
    lrs = [r["lr"] for r in history if "lr" in r]
    assert lrs[0] == pytest.approx(0.16) and lrs[-1] == pytest.approx(0.08)  # halved after 2 epochs
    assert (run / "memory_hops_qa1.png").is_file() and (run / "learning_curve.png").is_file()


def test_eval_writes_the_per_task_table(run, data_dir, tmp_path):
    assert main(["eval", str(run), "--data-dir", str(data_dir), "--out", str(tmp_path)]) == 0
    report = (tmp_path / "report.md").read_text()
    assert "qa1" in report and "qa6" in report and "memory_hops_qa1.png" in report


def test_predict_answers_with_the_attention_of_each_hop(run, tmp_path, capsys):
    story = tmp_path / "story.txt"
    story.write_text(STORY)
    plot = tmp_path / "hops.png"
    assert main(["predict", str(run), "--story", str(story), "Where is Mary?", "Where is John?",
                 "--plot", str(plot)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 * 4  # per question: the answer, then one line per hop
    answer, probability = lines[0].split("\t")
    assert 0 < float(probability) <= 1 and answer
    assert [line[:9] for line in lines[1:4]] == ["  hop 1: ", "  hop 2: ", "  hop 3: "]
    assert all(all(f"[{i}]" in line for i in (1, 2, 3)) for line in lines[1:4])  # every sentence, with its weight
    assert plot.is_file()


def test_the_python_api_reads_a_story(run):
    from seqlab import load

    reader = load(run)
    reading = reader.answer(STORY.splitlines(), "Where is Mary?")
    assert len(reading.hops) == 3 and all(len(h) == 3 for h in reading.hops)
    assert all(math.isclose(sum(h), 1, abs_tol=1e-5) for h in reading.hops)


def test_a_long_story_keeps_its_newest_sentences_with_a_warning(run):
    from seqlab import load

    reader = load(run)
    story = ["John went to the kitchen."] * 49 + ["Mary moved to the bathroom."] * 3
    with pytest.warns(UserWarning, match=r"52 sentences, more than the memory holds \(50\): the oldest 2"):
        reading = reader.answer(story, "Where is Mary?")
    assert reading.dropped == 2 and len(reading.sentences) == 50


def test_a_question_of_unknown_words_is_warned_about(run, tmp_path, capsys):
    story = tmp_path / "story.txt"
    story.write_text(STORY)
    assert main(["predict", str(run), "--story", str(story), "zorg blib?"]) == 0
    err = capsys.readouterr().err
    assert "warning: none of the question's words is in the model's vocabulary: zorg, blib" in err
    assert main(["predict", str(run), "--story", str(story), "Where is zorg?"]) == 0
    assert "warning: some of the question's words are not in the model's vocabulary: zorg" in capsys.readouterr().err


@pytest.mark.parametrize("text, message", [
    ("Mary moved to the bathroom.\nWhere is Mary?\tbathroom\t1\n", r"story\.txt:2: a question line"),
    ("1 Mary moved.\n3 John went.\n", r"story\.txt:2: sentence number 3, expected 2"),
    ("1 Mary moved.\nJohn went home.\n", r"story\.txt:2: unnumbered line"),
    ("Mary moved.\n?!\n", r"story\.txt:2: no words"),
    ("\n\n", r"story\.txt: the story is empty"),
])
def test_malformed_story_files_name_the_line(tmp_path, text, message):
    path = tmp_path / "story.txt"
    path.write_text(text)
    with pytest.raises(SeqlabError, match=message):
        read_story(path)


def test_read_story_accepts_babi_numbering_and_blank_lines(tmp_path):
    path = tmp_path / "story.txt"
    path.write_text("1 Mary moved to the bathroom.\n\n2 John went to the hallway.\n")
    assert read_story(path) == ["Mary moved to the bathroom.", "John went to the hallway."]
    path.write_bytes(b"Mary moved.\nJohn \xff went.\n")
    with pytest.raises(DataFormatError, match=r"story\.txt"):
        read_story(path)


def test_cli_refusals_are_one_line(run, tmp_path, capsys):
    assert main(["predict", str(run), "Where is Mary?"]) == 2
    assert "--story" in capsys.readouterr().err
    assert main(["predict", str(run), "--story", str(tmp_path / "none.txt"), "Where?"]) == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_text("1 Mary moved.\n5 John went.\n")
    assert main(["predict", str(run), "--story", str(bad), "Where is Mary?"]) == 2
    err = capsys.readouterr().err
    assert "bad.txt:2" in err and "Traceback" not in err


def test_a_model_saved_in_its_linear_start_loads_as_it_was_trained(tmp_path):
    from seqlab.models.config import MemN2NConfig
    from seqlab.models.memnet import MemN2N
    from seqlab.training import load_weights, save_weights

    model = MemN2N(MemN2NConfig(vocab_size=9, dim=4))
    model.linear = True
    save_weights(model, tmp_path / "m.safetensors")
    loaded = MemN2N(MemN2NConfig(vocab_size=9, dim=4))
    assert not loaded.linear
    load_weights(loaded, tmp_path / "m.safetensors")
    assert loaded.linear


def test_the_10k_fallback_to_1k_for_a_missing_training_file(data_dir, tmp_path):
    """qa3's 10k training file is missing from the staged data: the run trains on the 1k file and says so."""
    from seqlab.tasks.babi import load_task

    staged = tmp_path / "data"
    (staged / "babi" / "en-10k").mkdir(parents=True)
    (staged / "babi" / "en").mkdir()
    name = "qa3_three-supporting-facts"
    (staged / "babi" / "en" / f"{name}_train.txt").symlink_to(data_dir / "babi" / "en" / f"{name}_train.txt")
    cfg = BabiRunConfig()
    cfg.data.size = "10k"
    notes = []
    assert len(load_task(3, "train", cfg, staged, notes)) == 1000 and "qa3" in notes[0]
    cfg.data.fallback_to_1k = False
    with pytest.raises(SeqlabError):
        load_task(3, "train", cfg, staged)
    cfg.data.fallback_to_1k = True
    (staged / "babi" / "en-10k" / f"{name}_train.txt").write_bytes(b"1 Mary \xff moved.\n")  # damaged: refused
    with pytest.raises(DataFormatError, match="qa3"):
        load_task(3, "train", cfg, staged)


def test_the_schedule_ends_the_linear_start_when_validation_stops_falling():
    class FakeModel:
        linear = False

    class FakeTrainer:
        def __init__(self):
            self.history, self.step, self.should_stop, self.stop_reason = [], 0, False, None
            self.optimizer = type("O", (), {"param_groups": [{"lr": 0.16}]})()
            self.scheduler = type("S", (), {"base_lrs": [0.16]})()

    cfg = BabiRunConfig()
    cfg.schedule.epochs, cfg.schedule.halve_every, cfg.schedule.linear_start_epochs = 4, 2, 10
    cfg.schedule.linear_start_patience = 1
    model, trainer = FakeModel(), FakeTrainer()
    schedule = PaperSchedule(model, cfg)
    assert model.linear
    for loss in (3.0, 2.0, 2.5):  # the third epoch does not improve: the softmax comes back
        schedule.on_evaluate(trainer, {"loss": loss})
    assert not model.linear and trainer.history[-1]["linear_start_ended"] == 3
    rates = []
    for _ in range(4):
        schedule.on_evaluate(trainer, {"loss": 1.0})
        rates.append(trainer.optimizer.param_groups[0]["lr"])
    assert rates == [0.16, 0.08, 0.08, 0.04] and trainer.should_stop
    restored = PaperSchedule(FakeModel(), cfg)
    restored.load_state_dict(json.loads(json.dumps(schedule.state_dict())))
    assert restored.epochs == 4 and not restored.model.linear


@pytest.mark.parametrize("override, message", [("--optim.schedule=cosine", "optim.schedule=constant"),
                                               ("--data.tasks=[0]", "task numbers"),
                                               ("--data.size=100k", "size"),
                                               ("--model_type=lstm", "model_type")])
def test_bad_configs_are_refused_in_one_line(override, message, tmp_path, capsys):
    assert main(["train", "configs/babi_memn2n.yaml", "--out", str(tmp_path / "x"), override]) == 2
    assert message in capsys.readouterr().err
