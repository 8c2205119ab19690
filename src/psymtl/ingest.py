"""Ingestion helpers: the checks every dataset reader shares (each dataset's own reader lives
in its module under ``psymtl.datasets``, which imports these; this module knows no dataset).

Canonical columns: ``id`` (str), ``text`` (str), ``source_split`` (official split or None),
then the dataset's label columns. Rows with empty texts and exact duplicates are dropped and
counted; anything malformed raises :class:`InputError` naming the file, line (header = line
1; FIG-Loneliness, which has no lines: the record's ``unique_id``) and field.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from psymtl.errors import InputError

Report = dict[str, Any]


def read_csv(path: Path, required: list[str]) -> pd.DataFrame:
    """Read a UTF-8 CSV as strings, with ``_line``: the line each record starts on (the
    header is line 1; a quoted post may span several lines). Fails with one clear message on
    a missing, empty, non-UTF-8, non-CSV or header-only file and on missing columns."""
    if not path.is_file():
        raise InputError(path.parent, f"missing {path.name} (found {user_files(path.parent)}); "
                         f"the folder must hold {path.name}")
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError(path, "the file is empty (0 bytes or only whitespace); expected a "
                         f"CSV with a header line naming {required}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(path, f"byte {raw[exc.start]:#x} at offset {exc.start} is not UTF-8; "
                         "re-save the file as UTF-8", line=line) from None
    if text.lstrip("\ufeff \t\r\n")[:1] in ("{", "["):
        raise InputError(path, "this is JSON, not CSV; export it as a comma-separated file "
                         f"with the columns {required}", line=1)
    with _any_field_size():
        header = next(csv.reader([text.lstrip("\ufeff").split("\n", 1)[0]]), [])
    missing = [c for c in required if c not in header]
    if missing:
        other = next((d for d in (";", "\t", "|") if d in ",".join(header)), None)
        hint = (f"; the header is separated by {other!r}: save the file comma-separated"
                if other and len(header) == 1 else "")
        raise InputError(path, f"missing column(s) {missing}; found {header[:20]}" + hint,
                         line=1)
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.ParserError as exc:
        at = re.search(r"line (\d+)", str(exc))
        raise InputError(path, f"not a well-formed CSV: {exc}",
                         line=int(at.group(1)) if at else None) from None
    if df.empty:
        raise InputError(path, "has a header but no data rows", line=1)
    with _any_field_size():
        starts = _record_lines(text)
    df["_line"] = starts[1:len(df) + 1] if len(starts) == len(df) + 1 else np.arange(2, len(df) + 2)
    return df


def user_files(folder: Path) -> list[str]:
    """The names of the files in ``folder`` a user put there (hidden ones, such as the
    workflow's ``.snakemake_timestamp``, left out)."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


@contextmanager
def _any_field_size() -> Iterator[None]:
    """Let the ``csv`` module read fields of any length (a post may be longer than its
    default limit of 131,072 characters), and restore the limit after."""
    old = csv.field_size_limit(2**31 - 1)  # the largest every platform takes
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _record_lines(text: str) -> list[int]:
    """The line on which each CSV record (header first) starts."""
    reader = csv.reader(io.StringIO(text))
    starts, done = [], 0
    for _ in reader:
        starts.append(done + 1)
        done = reader.line_num
    return starts


def check_values(df: pd.DataFrame, path: Path, field: str, allowed: tuple[str, ...]) -> None:
    bad = ~df[field].isin(allowed)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(path, f"unexpected value {df[field].iat[i]!r} ({int(bad.sum())} rows "
                         f"like it); expected one of {list(allowed)}",
                         line=int(df["_line"].iat[i]), field=field)


def numeric(df: pd.DataFrame, path: Path, field: str) -> pd.Series:
    """``field`` as numbers; a value that is not one names its line."""
    values = pd.to_numeric(df[field].str.strip(), errors="coerce")
    bad = values.isna() & (df[field].str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(path, f"{df[field].iat[i]!r} is not a number ({int(bad.sum())} rows "
                         "like it); use '.' as the decimal mark", line=int(df["_line"].iat[i]),
                         field=field)
    return values


def finalise(df: pd.DataFrame, report: Report, key: list[str] | None = None) -> pd.DataFrame:
    """Drop empty texts, exact duplicates (same ``key``: text, labels and split; one copy
    kept) and posts whose text appears again with other labels (every copy dropped: which
    label is right is unknown); count what went.

    ``df`` carries ``_file`` and ``_line`` or ``_record`` (where each row came from) for the
    error messages."""
    df = df.copy()
    df["text"] = df["text"].fillna("").astype(str)
    empty = df["text"].str.strip() == ""
    report["dropped_empty_text"] = int(empty.sum())
    df = df[~empty]
    key = key or ["text"]
    dup = df[key].astype(str).duplicated(keep="first")
    report["dropped_duplicates"] = int(dup.sum())
    df = df[~dup]
    same_split = ["text", "source_split"] if "source_split" in df else ["text"]
    conflict = df[same_split].astype(str).duplicated(keep=False)
    report["dropped_conflicting_labels"] = int(conflict.sum())
    df = df[~conflict]
    dup_id = df["id"].duplicated(keep=False)
    if dup_id.any():
        rows = df[dup_id & (df["id"] == df.loc[dup_id, "id"].iat[0])]
        first, second = rows.iloc[0], rows.iloc[1]
        raise InputError(second["_file"], f"id {second['id']!r} again ({int(dup_id.sum())} rows "
                         f"share an id; first at {first['_file']}, {_where(first)}) with "
                         "another text; ids must be unique", field="id", **_at(second))
    if "source_split" in df and df["source_split"].notna().any():
        in_test = set(df.loc[df["source_split"] == "test", "text"])
        leak = (df["source_split"] != "test") & df["text"].isin(in_test)
        report["dropped_train_test_overlap"] = int(leak.sum())
        df = df[~leak]
    report["rows"] = len(df)
    return df.drop(columns=["_file", "_line", "_record"], errors="ignore").reset_index(drop=True)


def row_origin(path: Path, df: pd.DataFrame) -> dict[str, Any]:
    """The columns ``_file`` and ``_line`` that :func:`finalise` reads: where each row of a
    frame read by :func:`read_csv` came from, for the error messages."""
    return {"_file": str(path), "_line": df["_line"].to_numpy()}


def _at(row: pd.Series) -> dict[str, Any]:
    """InputError's position of a row: its line, or its record id."""
    line = row.get("_line")
    if line is not None and not pd.isna(line):
        return {"line": int(line)}
    return {"record": row.get("_record")}


def _where(row: pd.Series) -> str:
    return ", ".join(f"{k} {v!r}" if k == "record" else f"{k} {v}" for k, v in _at(row).items())


def single_csv(raw: Path) -> Path:
    """The one CSV file of ``raw`` (a file, or a folder holding exactly one)."""
    files = sorted(raw.glob("*.csv")) if raw.is_dir() else [raw]
    if len(files) != 1:
        raise InputError(raw, f"expected exactly one CSV file, found {[f.name for f in files]}")
    return files[0]

