"""Datasets: one module per built-in dataset, holding its reader, synthetic stand-in,
labels, tasks, how it is split and whether it needs LLM annotation; ``csv_files`` reads a
user's own CSV described in config. A config dataset names its module with ``kind``
(default: its own name). A new built-in dataset is a module here, its name in
:data:`KINDS` and in the schema's ``kind`` list."""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from psymtl.datasets import cancer, csv_files, dreaddit, fig_loneliness, pirina
from psymtl.tasks import Task

KINDS: dict[str, ModuleType] = {m.NAME: m for m in (cancer, dreaddit, pirina, fig_loneliness,
                                                     csv_files)}


def kind(name: str, spec: Mapping[str, Any] | None = None) -> ModuleType:
    """The module of config dataset ``name``."""
    k = (spec or {}).get("kind", name)
    try:
        return KINDS[k]
    except KeyError:
        raise KeyError(f"datasets.{name}: unknown kind {k!r}; known: {sorted(KINDS)}") from None


def options(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The config keys of ``name`` that its reader takes."""
    return {k: spec[k] for k in kind(name, spec).OPTIONS if k in spec}


def tasks(config_datasets: Mapping[str, Mapping[str, Any]]) -> dict[str, Task]:
    """Every task of the configured datasets, by name."""
    out: dict[str, Task] = {}
    for name, spec in config_datasets.items():
        for t in kind(name, spec).tasks(name, options(name, spec)):
            if t.name in out:
                raise ValueError(f"datasets.{name}: task {t.name!r} is also a task of "
                                 f"{out[t.name].dataset}; task names must be unique")
            out[t.name] = t
    return out
