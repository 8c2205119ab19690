"""Datasets: one module per built-in dataset, holding its reader, synthetic stand-in,
labels, tasks, how it is split (``stratify``, ``group``), whether it needs LLM annotation and
what a model card says of it (``ABOUT``: title, source, licence); ``csv_files`` reads a user's
own CSV described in config. A config dataset names its module with ``kind`` (default: its
own name). A new built-in dataset is a module here, its name in :data:`KINDS` and in the
schema's ``kind`` list. The readers build on the shared checks of :mod:`psymtl.ingest`; this
registry is the one place that maps a config dataset to its module."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from psymtl.datasets import cancer, csv_files, dreaddit, fig_loneliness, pirina
from psymtl.errors import InputError
from psymtl.tasks import Task

if TYPE_CHECKING:  # pandas loads when data are read, not when the DAG names datasets
    import pandas as pd

    from psymtl.ingest import Report

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


def group(name: str, spec: Mapping[str, Any]) -> str | None:
    """The canonical column whose rows must stay in one split (e.g. Dreaddit's ``post_id``,
    a csv's ``columns.group``), or None."""
    return kind(name, spec).group(options(name, spec))


def ingest(dataset: str, raw: str | Path, kind_name: str | None = None,
           origin: str | Path | None = None, **opts: Any) -> tuple[pd.DataFrame, Report]:
    """Read config dataset ``dataset`` (of kind ``kind_name``, default its name) from its raw
    folder into the canonical frame and its report; ``opts`` go to its reader. Errors name
    ``origin`` (the file or folder the user configured) instead of the workflow's copy."""
    reader = kind(dataset, {"kind": kind_name or dataset}).read
    try:
        return reader(Path(raw), **opts)
    except InputError as exc:
        if origin is None:
            raise
        raise exc.relocated(raw, origin) from None
