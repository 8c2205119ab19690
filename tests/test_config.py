"""The config schema: shipped configs pass, wrong keys/types/values are named."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from psymtl.config import ConfigError, check

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "schemas" / "config.schema.yaml"


def default() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def merged(extra: str) -> dict:
    """config.yaml updated by another config, key by key, as Snakemake merges them."""
    def update(a: dict, b: dict) -> dict:
        for k, v in b.items():
            a[k] = update(a.get(k, {}), v) if isinstance(v, dict) and isinstance(a.get(k), dict) \
                else v
        return a
    return update(default(), yaml.safe_load((ROOT / extra).read_text()))


@pytest.mark.parametrize("extra", [None, "configs/paper.yaml", "configs/shared-data.yaml",
                                   "tests/configs/tiny.yaml"])
def test_shipped_configs_are_valid(extra):
    check(default() if extra is None else merged(extra), SCHEMA)


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["training"].update(learning_rate=1e-3),
     r"training: Additional properties are not allowed \('learning_rate' was unexpected\)"),
    (lambda c: c["training"].update(epochs="three"), r"training.epochs: 'three' is not of type"),
    (lambda c: c["splits"].update(dev_fraction=1.5), r"splits.dev_fraction: 1.5 is greater"),
    (lambda c: c["datasets"]["cancer"].update(source="ftp"), r"datasets.cancer.source: 'ftp'"),
    (lambda c: c["datasets"]["cancer"].update(source="path"),
     r"datasets.cancer: 'path' is a required property"),
    (lambda c: c["studies"]["A"]["conditions"].update({"bad-name!": {"tasks": ["emotion"]}}),
     r"studies.A.conditions: 'bad-name!' does not match"),
    (lambda c: c.update(seeds=[]), r"seeds: \[\] should be non-empty"),
])
def test_errors_name_the_key(edit, message):
    cfg = copy.deepcopy(default())
    edit(cfg)
    with pytest.raises(ConfigError, match=message):
        check(cfg, SCHEMA)


def test_trainer_settings_have_the_configs_defaults_and_the_schemas_keys():
    """The run settings are defined once: the typed object's defaults are config.yaml's."""
    from dataclasses import fields

    from psymtl.trainer import Settings

    root = Path(__file__).resolve().parents[1]
    training = yaml.safe_load((root / "config.yaml").read_text())["training"]
    schema = yaml.safe_load((root / "schemas" / "config.schema.yaml").read_text())
    run_keys = set(schema["$defs"]["run"]["properties"])
    names = {f.name for f in fields(Settings)} - {"seed"}
    assert names <= run_keys
    defaults = Settings()
    assert {n: getattr(defaults, n) for n in names} == {n: training[n] for n in names}


def test_check_fills_in_the_schemas_defaults():
    """Keys left out get the schema's defaults, nested ones too (the workflow relies on it)."""
    cfg = copy.deepcopy(default())
    for key in ("threads_per_job", "models", "predict"):
        cfg.pop(key)
    check(cfg, SCHEMA)
    assert cfg["threads_per_job"] == 1 and cfg["models"] == {"save": []}
    assert cfg["predict"] == {"posts": None, "models": None, "batch_tokens": 8192}
