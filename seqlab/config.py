"""Typed configs: dataclasses built from YAML/JSON dicts, with dotted command-line overrides.

Every key is checked against the dataclass: an unknown key or a value of the wrong type is a
``ConfigError`` naming the key, never a silent default (fairseq #4675 is what we avoid).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from seqlab.errors import ConfigError

T = TypeVar("T")


def init_fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


def _coerce(value: Any, typ: Any, key: str) -> Any:
    origin, args = typing.get_origin(typ), typing.get_args(typ)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, key)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0])
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"config key '{key}' expects a list, got {value!r}")
        item_types = args if origin is tuple and Ellipsis not in args else [args[0] if args else Any] * len(value)
        if len(item_types) != len(value):
            raise ConfigError(f"config key '{key}' expects {len(item_types)} values, got {len(value)}")
        return origin(_coerce(v, t, key) for v, t in zip(value, item_types, strict=True))
    if dataclasses.is_dataclass(typ):
        if not isinstance(value, Mapping):
            raise ConfigError(f"config key '{key}' expects a mapping, got {value!r}")
        return from_dict(typ, value, prefix=f"{key}.")
    if typ is Any:
        return value
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if typ is float and isinstance(value, str):
        try:
            return float(value)  # YAML 1.1 reads "1e-3" as a string
        except ValueError:
            pass
    if (typ is float and is_number) or (typ is int and is_number and isinstance(value, int)):
        return typ(value)
    if (typ is bool and isinstance(value, bool)) or (typ is str and isinstance(value, str)):
        return value
    raise ConfigError(f"config key '{key}' expects {getattr(typ, '__name__', typ)}, got {value!r}")


def from_dict(cls: type[T], data: Mapping[str, Any], *, prefix: str = "") -> T:
    """Build dataclass ``cls`` from a (nested) dict, checking every key and type."""
    fields = init_fields(cls)
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"unknown config key '{prefix}{unknown[0]}' (known: {', '.join(sorted(fields))})")
    kwargs = {name: _coerce(value, hints[name], f"{prefix}{name}") for name, value in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"invalid config{' ' + prefix.rstrip('.') if prefix else ''}: {err}") from err


def to_dict(obj: Any) -> Any:
    """A dataclass config -> plain dict of its init fields (derived fields are recomputed on load)."""
    if dataclasses.is_dataclass(obj):
        return {name: to_dict(getattr(obj, name)) for name in init_fields(type(obj))}
    if isinstance(obj, tuple | list):
        return [to_dict(v) for v in obj]
    return obj


def parse_override(text: str) -> tuple[list[str], Any]:
    """'model.d_model=256' -> (['model', 'd_model'], 256); values are read as YAML scalars."""
    key, sep, raw = text.partition("=")
    key = key.removeprefix("--")
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override {text!r} is not of the form --key.sub=value")
    try:
        value = yaml.safe_load(raw) if raw else ""
    except yaml.YAMLError:
        value = raw
    return key.split("."), value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Set dotted keys in a nested dict (a copy); unknown keys are caught later by ``from_dict``."""
    data = to_dict(data)
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {text!r}: '{part}' is not a section")
            node = child
        node[path[-1]] = value
    return data


RECIPE_DIR = Path(__file__).parent / "recipes"  # shipped in the package; configs/ in the repository links here


def recipe_names() -> list[str]:
    """The recipes installed with seqlab, by name (``seqlab train NAME``)."""
    return sorted(path.stem for path in RECIPE_DIR.glob("*.yaml"))


def recipe_summary(name: str, width: int = 100) -> str:
    """What a recipe trains, on what: the first sentence of its header comment, at most ``width`` characters."""
    lines = []
    for line in (RECIPE_DIR / f"{name}.yaml").read_text(encoding="utf-8").splitlines():
        if not line.startswith("#") or line.startswith("#  "):  # the header ends at data or a usage line
            break
        lines.append(line[1:].strip())
    text, depth = " ".join(lines), 0
    for i, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if depth == 0 and (char == ";" or (char == "." and text[i + 1 : i + 2] in ("", " "))):
            text = text[:i]
            break
    return text if len(text) <= width else text[: text.rfind(" ", 0, width - 1)] + " …"


def find_config(config: str | Path) -> Path:
    """A config file's path, or a recipe's name -> the file to read. An existing file wins over a recipe."""
    path = Path(config)
    if path.exists() or path.parent != Path(".") or path.suffix not in ("", ".yaml"):
        return path  # a file (a missing one is reported by read_config_file, naming it)
    recipe = RECIPE_DIR / f"{path.stem}.yaml"
    if recipe.is_file():
        return recipe
    raise ConfigError(f"no config file or recipe named {str(config)!r} (recipes: {', '.join(recipe_names())}; "
                      "seqlab train --list)")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """A YAML (or JSON, a subset of YAML) config file -> dict; errors name the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read config {path}: {err.strerror}") from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not a text (UTF-8) config file") from err
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML ({getattr(err, 'problem', err)})") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config is a mapping of keys to values")
    return data
