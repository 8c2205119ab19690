"""Collect per-run metrics into long form and summarise them as mean +- sd over seeds."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from psymtl.io import read_json


def collect(files: Iterable[str | Path]) -> pd.DataFrame:
    """Long frame (study, condition, seed, split, task, metric, value) from metrics.json files
    laid out as ``.../<study>/<condition>/seed<k>/metrics.json``."""
    rows = []
    for f in files:
        f = Path(f)
        study, condition, seed = f.parts[-4], f.parts[-3], int(f.parts[-2].removeprefix("seed"))
        for split, per_task in read_json(f).items():
            for task, vals in per_task.items():
                rows += [{"study": study, "condition": condition, "seed": seed, "split": split,
                          "task": task, "metric": k, "value": v}
                         for k, v in vals.items() if k != "n"]
    return pd.DataFrame(rows)


def summarise(long: pd.DataFrame, split: str = "test") -> pd.DataFrame:
    part = long[long["split"] == split]
    g = part.groupby(["study", "condition", "task", "metric"], sort=True)["value"]
    out = g.agg(mean="mean", sd="std", n_seeds="count").reset_index()
    return out


def fmt(mean: float, sd: float, digits: int = 3) -> str:
    return f"{mean:.{digits}f}" if pd.isna(sd) else f"{mean:.{digits}f} ± {sd:.{digits}f}"


COLUMNS = {
    "classification": ["accuracy", "precision", "recall", "f1", "f1_macro"],
    "regression": ["r2", "mae"],
    "distribution": ["accuracy", "clark", "canberra", "cosine", "intersection", "kl"],
}


def headline(summary: pd.DataFrame) -> pd.DataFrame:
    """Wide table: a row per study/condition/task, columns the metrics of the task's kind."""
    from psymtl.tasks import get

    rows = []
    for (study, cond, task), part in summary.groupby(["study", "condition", "task"]):
        vals = part.set_index("metric")
        row = {"study": study, "condition": cond, "task": task,
               "seeds": int(vals["n_seeds"].max())}
        row |= {m: fmt(vals.at[m, "mean"], vals.at[m, "sd"])
                for m in COLUMNS[get(task).kind] if m in vals.index}
        rows.append(row)
    return pd.DataFrame(rows)
