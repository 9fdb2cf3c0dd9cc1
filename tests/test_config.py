from dataclasses import dataclass, field

import pytest

from seqlab.config import apply_overrides, from_dict, read_config_file, to_dict
from seqlab.errors import ConfigError
from seqlab.runner import build_run_config
from seqlab.tasks import dates


@dataclass
class Inner:
    width: int = 4
    rate: float = 0.1
    betas: tuple[float, float] = (0.9, 0.99)
    limit: float | None = None


@dataclass
class Outer:
    name: str = "x"
    flag: bool = False
    inner: Inner = field(default_factory=Inner)


def test_from_dict_builds_and_coerces():
    cfg = from_dict(Outer, {"name": "y", "inner": {"width": 8, "rate": 1, "betas": [0.8, 0.9], "limit": "1e-3"}})
    assert cfg == Outer("y", False, Inner(8, 1.0, (0.8, 0.9), 1e-3))
    assert from_dict(Outer, to_dict(cfg)) == cfg


@pytest.mark.parametrize("data,message", [
    ({"nmae": "y"}, "unknown config key 'nmae'"),
    ({"inner": {"widht": 3}}, "unknown config key 'inner.widht'"),
    ({"inner": {"width": "wide"}}, "'inner.width' expects int"),
    ({"inner": {"width": 2.5}}, "'inner.width' expects int"),
    ({"flag": "yes please"}, "'flag' expects bool"),
    ({"inner": {"betas": [0.9]}}, "expects 2 values"),
    ({"inner": 3}, "'inner' expects a mapping"),
])
def test_from_dict_names_the_bad_key(data, message):
    with pytest.raises(ConfigError, match=message):
        from_dict(Outer, data)


def test_overrides_are_typed_yaml_scalars():
    data = apply_overrides(to_dict(Outer()), ["inner.width=16", "flag=true", "name=abc", "inner.limit=null"])
    cfg = from_dict(Outer, data)
    assert (cfg.inner.width, cfg.flag, cfg.name, cfg.inner.limit) == (16, True, "abc", None)
    with pytest.raises(ConfigError, match=r"--key\.sub=value"):
        apply_overrides({}, ["novalue"])


def test_shipped_yaml_is_the_demo_recipe():
    """configs/dates_transformer.yaml and the typed defaults behind `seqlab demo` must not drift apart."""
    from pathlib import Path

    path = Path(__file__).parents[1] / "configs" / "dates_transformer.yaml"
    assert build_run_config(read_config_file(path)) == dates.RunConfig()


def test_config_file_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: dates\nmodel:\n  d_model: [1,\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+: invalid YAML"):
        read_config_file(bad)
    with pytest.raises(ConfigError, match="names no task"):
        build_run_config({"model": {}})


def _leaves(data: dict, prefix: str = ""):
    """A nested config dict -> (dotted key, value) pairs."""
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def test_every_shipped_recipe_builds_its_typed_config_with_every_value_it_sets():
    from pathlib import Path

    paths = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))
    assert len(paths) >= 16
    for path in paths:
        data = read_config_file(path)
        cfg = build_run_config(data)
        resolved = dict(_leaves(to_dict(cfg)))
        for key, value in _leaves(data):  # no value of the file is dropped or replaced by a default
            expected = float(value) if isinstance(resolved[key], float) else value  # YAML reads 3e-4 as a string
            assert resolved[key] == (list(expected) if isinstance(expected, tuple) else expected), f"{path.name}: {key}"
        assert build_run_config(to_dict(cfg)) == cfg, path.name  # what a run directory's config.json reloads
