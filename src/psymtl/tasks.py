"""Prediction tasks: what each head predicts, from which dataset column, and of what kind."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from psymtl.kinds import KINDS, Kind

if TYPE_CHECKING:  # numpy and pandas load when targets are built, not when the DAG names tasks
    import numpy as np
    import pandas as pd


@dataclass(frozen=True)
class Task:
    name: str
    kind: Kind
    dataset: str
    column: str
    classes: tuple[str, ...] = ()
    peers: tuple[str, ...] = ()  # tasks with the same classes whose targets we also score

    @property
    def n_out(self) -> int:
        return self.kind.n_out(self.classes)

    def targets(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Targets as an array and a boolean 'present' mask (missing rows are masked)."""
        col = df.get(self.column)
        return self.kind.targets(col, len(df), self.classes)


def from_spec(spec: Mapping[str, Any]) -> Task:
    return Task(spec["name"], KINDS[spec["kind"]], spec["dataset"], spec["column"],
                tuple(spec.get("classes", ())), tuple(spec.get("peers", ())))


def spec(task: Task) -> dict[str, Any]:
    """A task as plain data (what the workflow hands a job through ``params``)."""
    return {"name": task.name, "kind": task.kind.name, "dataset": task.dataset,
            "column": task.column, "classes": list(task.classes), "peers": list(task.peers)}


_active: dict[str, Task] = {}


def use(specs: Mapping[str, Mapping[str, Any]]) -> None:
    """Make the config's tasks (``spec`` of each, by name) the ones :func:`get` knows; a job
    calls this with the specs its rule passes. Without it, the built-in datasets' tasks."""
    _active.clear()
    _active.update({name: from_spec(s) for name, s in specs.items()})


def known() -> dict[str, Task]:
    if _active:
        return _active
    from psymtl import datasets

    return {t.name: t for m in datasets.KINDS.values() if m.NAME != "csv" for t in m.tasks()}


def get(name: str) -> Task:
    tasks = known()
    try:
        return tasks[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known: {sorted(tasks)}") from None
