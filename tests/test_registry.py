"""The task registry is typed and explicit, and nothing under seqlab/ imports seqlab.api back (no cycle)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import seqlab
from seqlab.errors import SeqlabError
from seqlab.tasks import Task, get_task, task_names

PACKAGE = Path(seqlab.__file__).parent
ENTRY_POINTS = {"__init__.py", "api.py", "cli.py"}  # the user-facing layer may import the API


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_no_module_imports_the_api():
    offenders = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                 if p.relative_to(PACKAGE).as_posix() not in ENTRY_POINTS and "seqlab.api" in imported_modules(p)]
    assert offenders == []


def test_the_check_sees_an_api_import(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from seqlab import api\n")
    assert "seqlab.api" in imported_modules(source)


def test_api_imports_no_task_module():
    from seqlab.tasks import _MODULES

    code = "import sys, seqlab.api; print(sorted(m for m in sys.modules if m.startswith('seqlab.tasks.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    imported = set(eval(out))  # a list of module names
    assert imported and not imported & set(_MODULES.values())  # the registry's helpers only, no task


@pytest.mark.parametrize("name", task_names())
def test_every_task_is_a_typed_entry(name):
    task = get_task(name)
    assert isinstance(task, Task) and task.name == name
    module = sys.modules[f"seqlab.tasks.{name}"]
    assert (task.train, task.evaluate, task.load) == (module.train, module.evaluate, module.load_predictor)
    assert task.RunConfig().task == name


def test_unknown_task_names_the_known_ones():
    known = "babi, classify, dates, forecast, image, lm, mlm, series, tag, translate, word2vec"
    with pytest.raises(SeqlabError, match=f"known: {known}"):
        get_task("gpt")
