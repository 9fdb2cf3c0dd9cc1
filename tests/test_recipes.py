"""Recipes ship inside the package (seqlab/recipes/, with configs/ a link to it in the repository), so an installed
seqlab trains them by name: ``seqlab train sst2_nb``, ``seqlab train --list``."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from seqlab.cli import main
from seqlab.config import RECIPE_DIR, find_config, read_config_file, recipe_names
from seqlab.errors import ConfigError
from seqlab.runner import default_out, load_run_config

REPO = Path(__file__).resolve().parents[1]


def test_configs_is_the_packaged_recipes_folder():
    assert (REPO / "configs").resolve() == RECIPE_DIR.resolve()  # one copy: no drift possible
    assert sorted(p.stem for p in (REPO / "configs").glob("*.yaml")) == recipe_names()
    assert len(recipe_names()) >= 16 and "sst2_nb" in recipe_names()


def test_a_recipe_name_reads_the_same_config_as_its_file(monkeypatch, tmp_path):
    by_file = load_run_config(REPO / "configs" / "sst2_nb.yaml", ["train.seed=3"])
    monkeypatch.chdir(tmp_path)  # names are looked up in the package, not relative to the working directory
    assert load_run_config("sst2_nb", ["train.seed=3"]) == by_file
    assert load_run_config("sst2_nb.yaml", ["train.seed=3"]) == by_file
    assert default_out("sst2_nb") == Path("runs/sst2_nb")


def test_an_existing_file_wins_over_a_recipe_of_the_same_name(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sst2_nb.yaml").write_text("task: dates\n")
    assert find_config("sst2_nb.yaml") == Path("sst2_nb.yaml")
    assert load_run_config("sst2_nb.yaml").task == "dates"
    assert find_config("sst2_nb") == RECIPE_DIR / "sst2_nb.yaml"  # no file called plain 'sst2_nb' here


def test_unknown_names_and_missing_files_are_one_line_errors(capsys):
    with pytest.raises(ConfigError, match=r"no config file or recipe named 'sst2_nbb' \(recipes: .*sst2_nb"):
        find_config("sst2_nbb")
    with pytest.raises(ConfigError, match=r"cannot read config some/dir/sst2_nb\.yaml"):
        read_config_file(find_config("some/dir/sst2_nb.yaml"))  # a path is never replaced by a recipe
    assert main(["train", "sst2_nbb"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "seqlab train --list" in err
    assert main(["train"]) == 2
    assert "name a config file or a recipe" in capsys.readouterr().err


def test_train_print_config_by_name_equals_by_path(capsys, monkeypatch, tmp_path):
    assert main(["train", str(REPO / "configs" / "multi30k_gru_bahdanau.yaml"), "--print-config"]) == 0
    by_path = capsys.readouterr().out
    monkeypatch.chdir(tmp_path)
    assert main(["train", "multi30k_gru_bahdanau", "--print-config"]) == 0
    assert capsys.readouterr().out == by_path
    assert "attention: bahdanau" in by_path


def test_train_list_names_every_recipe_with_its_summary(capsys):
    assert main(["train", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == recipe_names()
    listed = dict(line.split(maxsplit=1) for line in lines)
    assert listed["dates_transformer"].startswith("Date normalisation with a character-level Transformer")
    assert listed["sst2_nb"] == "SST-2 sentiment with multinomial naive Bayes on binary word + bigram counts " \
        "(no Trainer: counting)"  # the first sentence of the recipe's header comment
    assert all(len(summary) <= 100 for summary in listed.values())


def test_the_wheel_ships_the_recipes_and_an_installed_seqlab_trains_them_by_name(tmp_path, capsys):
    """Build a wheel from a copy of the sources (the repository stays clean), install it outside the repository
    (not editable) and ask the installed seqlab for a recipe by name."""
    src = tmp_path / "src"
    shutil.copytree(REPO / "seqlab", src / "seqlab", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", str(src), "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist")],
                   check=True, capture_output=True)
    [wheel] = (tmp_path / "dist").glob("seqlab-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = {Path(n).stem: archive.read(n) for n in archive.namelist() if n.startswith("seqlab/recipes/")}
    assert shipped == {name: (RECIPE_DIR / f"{name}.yaml").read_bytes() for name in recipe_names()}

    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import seqlab.config as c; print(c.find_config('sst2_nb'))"],
                           cwd=tmp_path, env=env, check=True, capture_output=True, text=True).stdout.strip()
    assert Path(where) == site / "seqlab" / "recipes" / "sst2_nb.yaml"
    printed = subprocess.run([sys.executable, "-m", "seqlab", "train", "sst2_nb", "--print-config"], cwd=tmp_path,
                             env=env, check=True, capture_output=True, text=True).stdout
    assert main(["train", "sst2_nb", "--print-config"]) == 0
    assert printed == capsys.readouterr().out
