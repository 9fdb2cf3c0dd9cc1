"""Tasks (recipes): each turns a typed RunConfig into a trained run directory.

An explicit registry: a task's name in config.json picks its module here.
"""

from __future__ import annotations

from types import ModuleType

from seqlab.errors import SeqlabError


def _tasks() -> dict[str, ModuleType]:
    from seqlab.tasks import classify, dates, lm, tag, translate

    return {"dates": dates, "classify": classify, "tag": tag, "lm": lm, "translate": translate}


def get_task(name: str) -> ModuleType:
    tasks = _tasks()
    if name not in tasks:
        raise SeqlabError(f"unknown task {name!r} (known: {', '.join(sorted(tasks))})")
    return tasks[name]


def task_names() -> list[str]:
    return sorted(_tasks())
