"""Metrics of one run from its predictions (no torch needed)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from psymtl import tasks as T
from psymtl.datasets.cancer import SUBSCALES


def evaluate(predictions: pd.DataFrame) -> dict[str, Any]:
    """Metrics per split and scored task (every ``<task>__pred`` column of the frame).

    When all four burden subscales are present, ``subscales_mean`` holds their mean
    weighted F1."""
    names = [c.removesuffix("__pred") for c in predictions.columns if c.endswith("__pred")]
    out: dict[str, Any] = {}
    for split, part in predictions.groupby("split"):
        res_split = out.setdefault(split, {})
        for name in names:
            t = T.get(name)
            m = part[f"{name}__present"].to_numpy(bool)
            if not m.any():
                continue
            y = t.kind.stack_targets(part.loc[m, f"{name}__target"])
            p = t.kind.stack_predictions(part.loc[m, f"{name}__pred"])
            res_split[name] = t.kind.metrics(y, p)
        if all(s in res_split for s in SUBSCALES):
            res_split["subscales_mean"] = {"f1_weighted": float(np.mean(
                [res_split[s]["f1_weighted"] for s in SUBSCALES]))}
    return out
