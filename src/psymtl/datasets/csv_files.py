"""A user's own data: one CSV file or a folder of them, described entirely in config (which
column holds the id, the text and an optional train/dev/test split, and the tasks:
classification with its classes, regression, or a distribution from vote or probability
columns). It runs through the same ingestion checks, splits, trainer, evaluation,
statistics and report as the built-in datasets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from psymtl.kinds import KINDS
from psymtl.tasks import Task

if TYPE_CHECKING:
    import pandas as pd

    from psymtl.ingest import Report

NAME = "csv"
ANNOTATED = False
GROUP = None
OPTIONS = ("columns", "tasks", "stratify")
SPLITS = ("train", "dev", "test")


def tasks(dataset: str, options: dict[str, Any]) -> list[Task]:
    """The tasks the config declares; the canonical frame holds each under its own name."""
    out = []
    for name, spec in options["tasks"].items():
        classes = tuple(spec.get("classes") or spec.get("columns") or ())
        out.append(Task(name, KINDS[spec["kind"]], dataset, name, classes))
    return out


def stratify(options: dict[str, Any]) -> str | None:
    """The task whose classes stratify the splits: ``stratify``, else the first
    classification task, else none."""
    if options.get("stratify"):
        return options["stratify"]
    return next((n for n, s in options["tasks"].items() if KINDS[s["kind"]].decisions), None)


def read(raw: Path, columns: dict[str, str], tasks: dict[str, dict[str, Any]],
         stratify: str | None = None) -> tuple[pd.DataFrame, Report]:
    import pandas as pd

    from psymtl.errors import InputError
    from psymtl.ingest import _origin, check_values, finalise, read_csv

    files = sorted(raw.glob("*.csv")) if raw.is_dir() else [raw]
    if not files:
        raise InputError(raw, "no .csv file found")
    required = [c for c in (columns.get("id"), columns["text"], columns.get("split")) if c]
    for spec in tasks.values():
        required += list(spec.get("columns") or [spec["column"]])
    frames, rep = [], {"source": str(raw)}
    for path in files:
        df = read_csv(path, list(dict.fromkeys(required)))
        rep[f"rows_read_{path.name}"] = len(df)
        out = pd.DataFrame({
            "id": (df[columns["id"]].astype(str) if columns.get("id")
                   else path.stem + "-" + df["_line"].astype(str)),
            "text": df[columns["text"]], **_origin(path, df)})
        if columns.get("split"):
            check_values(df, path, columns["split"], SPLITS)
            out["source_split"] = df[columns["split"]].to_numpy()
        else:
            out["source_split"] = None
        for name, spec in tasks.items():
            out[name] = KINDS[spec["kind"]].from_csv(df, path, spec)
        frames.append(out)
    return finalise(pd.concat(frames, ignore_index=True), rep,
                    key=["text", "source_split", *tasks]), rep


def synthetic(out: Path, params: dict[str, Any], dreaddit_columns: list[str] | None = None
              ) -> None:
    raise ValueError("a csv dataset has no synthetic stand-in: use source: path or url")
