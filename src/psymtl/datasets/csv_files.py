"""A user's own data: one CSV file or a folder of them, described entirely in config (which
column holds the id, the text, an optional train/dev/test split and an optional group such as
the author or thread, and the tasks: classification with its classes, regression, or a
distribution from vote or probability columns). It runs through the same ingestion checks,
splits, trainer, evaluation, statistics and report as the built-in datasets. With a group
column the splits keep every group in one split (a person's writing never on both sides)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from psymtl.errors import InputError
from psymtl.kinds import KINDS
from psymtl.tasks import Task

if TYPE_CHECKING:
    import pandas as pd

    from psymtl.ingest import Report

NAME = "csv"
ANNOTATED = False
ABOUT = {"title": None, "citation": None, "source": None, "license": None,
         "terms": "the user's own data; see its terms"}
GROUP = "group"  # the canonical column of ``columns.group``
OPTIONS = ("columns", "tasks", "stratify")
SPLITS = ("train", "dev", "test")


def tasks(dataset: str, options: dict[str, Any]) -> list[Task]:
    """The tasks the config declares; the canonical frame holds each under its own name."""
    out = []
    for name, spec in options["tasks"].items():
        classes = tuple(spec.get("classes") or spec.get("columns") or ())
        out.append(Task(name, KINDS[spec["kind"]], dataset, name, classes))
    return out


def group(options: dict[str, Any]) -> str | None:
    """The canonical group column when the config names one (``columns.group``)."""
    return GROUP if options.get("columns", {}).get("group") else None


def stratify(options: dict[str, Any]) -> str | None:
    """The task whose classes stratify the splits: ``stratify``, else the first
    classification task, else none."""
    if options.get("stratify"):
        return options["stratify"]
    return next((n for n, s in options["tasks"].items() if KINDS[s["kind"]].decisions), None)


def read(raw: Path, columns: dict[str, str], tasks: dict[str, dict[str, Any]],
         stratify: str | None = None) -> tuple[pd.DataFrame, Report]:
    import pandas as pd

    from psymtl.ingest import check_values, finalise, read_csv, row_origin

    files = sorted(raw.glob("*.csv")) if raw.is_dir() else [raw]
    if not files:
        raise InputError(raw, "no .csv file found")
    if columns.get("group") and GROUP in tasks:
        raise InputError(raw, f"a task is named {GROUP!r}, the name the group column "
                         f"({columns['group']!r}) takes: rename the task")
    required = [c for c in (columns.get("id"), columns["text"], columns.get("split"),
                            columns.get("group")) if c]
    for spec in tasks.values():
        required += list(spec.get("columns") or [spec["column"]])
    frames, rep = [], {"source": str(raw)}
    for path in files:
        df = read_csv(path, list(dict.fromkeys(required)))
        rep[f"rows_read_{path.name}"] = len(df)
        out = pd.DataFrame({
            "id": (df[columns["id"]].astype(str) if columns.get("id")
                   else path.stem + "-" + df["_line"].astype(str)),
            "text": df[columns["text"]], **row_origin(path, df)})
        if columns.get("group"):
            out[GROUP] = _groups(df, path, columns["group"])
        if columns.get("split"):
            check_values(df, path, columns["split"], SPLITS)
            out["source_split"] = df[columns["split"]].to_numpy()
        else:
            out["source_split"] = None
        for name, spec in tasks.items():
            out[name] = KINDS[spec["kind"]].from_csv(df, path, spec)
        frames.append(out)
    df = finalise(pd.concat(frames, ignore_index=True), rep,
                  key=["text", "source_split", *tasks])
    if columns.get("group"):
        _check_groups(df, raw, columns["group"])
        rep["groups"] = int(df[GROUP].nunique())
    return df, rep


def _groups(df: pd.DataFrame, path: Path, column: str) -> pd.Series:
    """The group of each row; an empty one names its line."""

    empty = df[column].str.strip() == ""
    if empty.any():
        line = int(df.loc[empty, "_line"].iat[0])
        raise InputError(path, f"empty group ({int(empty.sum())} rows like it): give every "
                         "row its group (e.g. the author)", line=line, field=column)
    return df[column].str.strip()


def _check_groups(df: pd.DataFrame, raw: Path, column: str) -> None:
    """A group must not span two of the file's own splits."""

    if df["source_split"].isna().all():
        return
    n = df.groupby(GROUP)["source_split"].nunique(dropna=False)
    if (n > 1).any():
        g = n.index[n > 1][0]
        have = sorted(df.loc[df[GROUP] == g, "source_split"].astype(str).unique())
        raise InputError(raw, f"group {g!r} has rows in {have} ({int((n > 1).sum())} groups "
                         "like it): a group must stay in one split; fix the split column or "
                         "leave it out and let the split stage place whole groups",
                         field=column)


def synthetic(out: Path, params: dict[str, Any], dreaddit_columns: list[str] | None = None
              ) -> None:
    raise ValueError("a csv dataset has no synthetic stand-in: use source: path or url")
