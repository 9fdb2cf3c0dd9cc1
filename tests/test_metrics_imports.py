"""seqlab.metrics stands alone: scoring predictions needs no data readers (the tag schemes live in seqlab.text)."""

import ast
from pathlib import Path

import seqlab.metrics


def imported_modules(path: Path) -> set[str]:
    """Every module an ``import`` or ``from ... import`` names anywhere in the file (functions included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against seqlab.metrics
                base = ".".join(["seqlab", "metrics"][: 3 - node.level] + ([base] if base else []))
            names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return names


def test_metrics_import_nothing_from_seqlab_data():
    files = sorted(Path(seqlab.metrics.__file__).parent.glob("*.py"))
    assert len(files) >= 6
    offending = {f.name: sorted(m for m in imported_modules(f) if m == "seqlab.data" or m.startswith("seqlab.data."))
                 for f in files}
    assert {name: mods for name, mods in offending.items() if mods} == {}


def test_the_check_sees_a_data_import(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from seqlab.data.formats import tags_to_spans\n    import seqlab.data\n")
    assert {"seqlab.data.formats", "seqlab.data"} <= imported_modules(source)
    source.write_text("from seqlab import data\n")
    assert "seqlab.data" in imported_modules(source)
