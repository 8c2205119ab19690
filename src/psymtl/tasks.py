"""Prediction tasks: what each head predicts, from which dataset column, and of what kind.

There is no registry of tasks in this module: the configured datasets define them
(``psymtl.datasets.tasks``), the workflow hands a job their specs through ``params``, and
the job builds a :class:`TaskSet` from them and passes it to whatever looks tasks up by name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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


class TaskSet(Mapping[str, Task]):
    """The tasks of one configuration, by name: what a job knows about tasks. Looking up a
    name it lacks raises a ``KeyError`` that lists the known names."""

    def __init__(self, tasks: Mapping[str, Task]) -> None:
        self._tasks = dict(tasks)

    @classmethod
    def from_specs(cls, specs: Mapping[str, Mapping[str, Any]]) -> TaskSet:
        """The tasks of ``specs`` (:func:`spec` of each, by name), as a rule's ``params``
        hand them to a job."""
        return cls({name: from_spec(s) for name, s in specs.items()})

    def __getitem__(self, name: str) -> Task:
        try:
            return self._tasks[name]
        except KeyError:
            raise KeyError(f"unknown task {name!r}; known: {sorted(self._tasks)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._tasks)

    def __len__(self) -> int:
        return len(self._tasks)

    def __repr__(self) -> str:
        return f"TaskSet({sorted(self._tasks)})"
