"""Metrics of one run from its predictions (no torch needed)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from psymtl import health
from psymtl import predictions as P
from psymtl.datasets.cancer import SUBSCALES
from psymtl.io import read_json
from psymtl.tasks import Task


def evaluate(predictions: pd.DataFrame, tasks: Mapping[str, Task]) -> dict[str, Any]:
    """Metrics per split and scored task (every ``<task>__pred`` column of the frame; each
    looked up in ``tasks``).

    When all four burden subscales are present, ``subscales_mean`` holds their mean
    weighted F1. ``health`` holds, per split and task, what the collapse guard judges
    (:func:`psymtl.health.measure`)."""
    names = P.scored_tasks(predictions)
    out: dict[str, Any] = {}
    checks: dict[str, Any] = {}
    for split, part in predictions.groupby("split"):
        res_split = out.setdefault(split, {})
        for name in names:
            t = tasks[name]
            rows = P.with_target(part, name)
            if not len(rows):
                continue
            y = t.kind.stack_targets(rows[P.column(name, P.TARGET)])
            p = t.kind.stack_predictions(rows[P.column(name, P.PRED)])
            res_split[name] = t.kind.metrics(y, p)
            checks.setdefault(split, {})[name] = health.measure(y, p)
        if all(s in res_split for s in SUBSCALES):
            res_split["subscales_mean"] = {"f1_weighted": float(np.mean(
                [res_split[s]["f1_weighted"] for s in SUBSCALES]))}
    return out | {"health": checks}


def splits(metrics: dict[str, Any]) -> dict[str, Any]:
    """The per-split metrics of a ``metrics.json`` (without its ``health`` measurements)."""
    return {k: v for k, v in metrics.items() if k != "health"}


def read(metrics: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """A run's ``metrics.json``, given as its path or already read."""
    return dict(metrics) if isinstance(metrics, Mapping) else read_json(metrics)
