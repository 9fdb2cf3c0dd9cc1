"""The main job end to end, at full size (about 4 minutes on 2 CPU cores): run with ``pytest -m slow``."""

import json

import pytest

from seqlab.cli import main


@pytest.mark.slow
def test_demo_reaches_the_target(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--minutes", "4", "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["exact_match"] >= 0.99, metrics
    assert main(["translate", str(out), "4th of July 2019"]) == 0
    assert capsys.readouterr().out.strip().endswith("2019-07-04")
