"""Ingestion: validate each raw dataset and normalise it to one canonical parquet.

Canonical columns: ``id`` (str), ``text`` (str), ``source_split`` (official split or None),
then the dataset's label columns. Rows with empty texts and exact duplicates are dropped and
counted; anything malformed raises :class:`InputError` naming the file, line (header = line
1; FIG-Loneliness, which has no lines: the record's ``unique_id``) and field.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from psymtl.errors import InputError
from psymtl.labels import (
    CANCER_EMOTIONS,
    CANCER_INTENSITY,
    FIG_CATEGORIES,
    PIRINA_SETUPS,
    PIRINA_TEST_LABELS,
    PIRINA_TRAIN_LABELS,
)

Report = dict[str, Any]


def read_csv(path: Path, required: list[str]) -> pd.DataFrame:
    """Read a UTF-8 CSV as strings, with ``_line``: the line each record starts on (the
    header is line 1; a quoted post may span several lines). Fails with one clear message on
    a missing, empty, non-UTF-8, non-CSV or header-only file and on missing columns."""
    if not path.is_file():
        found = sorted(p.name for p in path.parent.iterdir()) if path.parent.is_dir() else []
        raise InputError(path.parent, f"missing {path.name} (found {found}); the folder must "
                         f"hold {path.name}")
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
    starts = _record_lines(text)
    df["_line"] = starts[1:len(df) + 1] if len(starts) == len(df) + 1 else np.arange(2, len(df) + 2)
    return df


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


def cancer(raw: Path) -> tuple[pd.DataFrame, Report]:
    path = _single_csv(raw)
    df = read_csv(path, ["posts", "predicted", "intensity"])
    rep: Report = {"source": str(path), "rows_read": len(df)}
    check_values(df, path, "predicted", CANCER_EMOTIONS)
    expected = df["predicted"].map(CANCER_INTENSITY).astype(str)
    mism = df["intensity"].str.strip() != expected
    if mism.any():
        i = int(np.flatnonzero(mism.to_numpy())[0])
        raise InputError(path, f"intensity {df['intensity'].iat[i]!r} does not match "
                         f"predicted={df['predicted'].iat[i]!r} (expected {expected.iat[i]})",
                         line=int(df["_line"].iat[i]), field="intensity")
    out = pd.DataFrame({
        "id": [f"cancer-{i:05d}" for i in range(len(df))], "text": df["posts"],
        "source_split": None, "emotion": df["predicted"],
        "intensity": df["intensity"].astype(int), **_origin(path, df),
    })
    return finalise(out, rep, key=["text", "emotion"]), rep


def dreaddit(raw: Path) -> tuple[pd.DataFrame, Report]:
    frames, rep = [], {"source": str(raw)}
    for split in ("train", "test"):
        path = raw / f"dreaddit-{split}.csv"
        df = read_csv(path, ["id", "text", "label", "subreddit", "post_id", "confidence"])
        check_values(df, path, "label", ("0", "1"))
        rep[f"rows_read_{split}"] = len(df)
        frames.append(pd.DataFrame({
            "id": "dreaddit-" + df["id"], "text": df["text"], "source_split": split,
            "stress": df["label"].astype(int), "subreddit": df["subreddit"],
            "post_id": df["post_id"], "confidence": numeric(df, path, "confidence"),
            **_origin(path, df),
        }))
    return finalise(pd.concat(frames), rep, key=["text", "stress", "source_split"]), rep


def pirina(raw: Path, setup: str = "forums_heldout") -> tuple[pd.DataFrame, Report]:
    """Depression (1) vs not (0) under one of :data:`PIRINA_SETUPS`: which forum labels of
    which file are the positive and negative posts, and whether the files' train/test split
    is kept (else the split stage holds out dev and test). Posts of other forums are dropped
    and counted (``not_in_setup``)."""
    if setup not in PIRINA_SETUPS:
        raise ValueError(f"unknown pirina setup {setup!r}; known: {sorted(PIRINA_SETUPS)}")
    frames, rep = [], {"source": str(raw), "setup": setup}
    for split, allowed in (("train", PIRINA_TRAIN_LABELS), ("test", PIRINA_TEST_LABELS)):
        path = raw / f"{split}.csv"
        df = read_csv(path, ["label", "text"])
        check_values(df, path, "label", allowed)
        rep[f"rows_read_{split}"] = len(df)
        pos, neg = PIRINA_SETUPS[setup][split]
        used = df["label"].isin(pos | neg).to_numpy()
        rep[f"not_in_setup_{split}"] = int((~used).sum())
        keep = PIRINA_SETUPS[setup]["official_split"]
        frames.append(pd.DataFrame({
            "id": [f"pirina-{split}-{i:05d}" for i in range(len(df))], "text": df["text"],
            "source_split": split if keep else None, "forum_label": df["label"],
            "depression": df["label"].isin(pos).astype(int), **_origin(path, df),
        })[used])
        if split == "train" and not used.any():
            raise InputError(path, f"no post with a label of setup {setup!r} "
                             f"({sorted(pos | neg)}); found {sorted(set(df['label']))}",
                             field="label")
    return finalise(pd.concat(frames), rep, key=["text", "forum_label", "source_split"]), rep


def fig_loneliness(raw: Path) -> tuple[pd.DataFrame, Report]:
    from datasets import load_from_disk

    frames, rep = [], {"source": str(raw)}
    for split in ("train", "dev", "test"):
        folder = raw / f"{split}_set"
        if not folder.is_dir():
            raise InputError(raw, f"missing split folder {folder.name}/ (save_to_disk layout "
                             "with train_set/, dev_set/, test_set/)")
        df = load_from_disk(str(folder)).to_pandas()
        missing = [c for c in ("unique_id", "text", *FIG_CATEGORIES) if c not in df.columns]
        if missing:
            raise InputError(folder, f"missing column(s) {missing}; found {list(df.columns)}")
        if df.empty:
            raise InputError(folder, "has no records")
        for col, names in FIG_CATEGORIES.items():
            for uid, votes in zip(df["unique_id"], df[col], strict=True):
                votes = [int(v) for v in votes] if votes is not None else []
                if len(votes) != len(names) or min(votes, default=-1) < 0:
                    raise InputError(folder, f"expected {len(names)} non-negative vote counts "
                                     f"{list(names)}, got {votes}", record=uid, field=col)
                if col == "lonely" and sorted(votes) != [0, 1]:
                    raise InputError(folder, f"expected a one-hot [non-lonely, lonely] vector "
                                     f"([1, 0] or [0, 1]), got {votes}", record=uid, field=col)
        rep[f"rows_read_{split}"] = len(df)
        out = pd.DataFrame({"id": df["unique_id"].astype(str), "text": df["text"],
                            "source_split": split, "_file": str(folder),
                            "_record": df["unique_id"].astype(str).to_numpy()})
        for col in FIG_CATEGORIES:
            out[col] = [np.asarray(v, dtype=np.int64).tolist() for v in df[col]]
        frames.append(out)
    return finalise(pd.concat(frames), rep, key=["text", "source_split", *FIG_CATEGORIES]), rep


def _origin(path: Path, df: pd.DataFrame) -> dict[str, Any]:
    """Where each row came from, for the error messages."""
    return {"_file": str(path), "_line": df["_line"].to_numpy()}


def _at(row: pd.Series) -> dict[str, Any]:
    """InputError's position of a row: its line, or its record id."""
    line = row.get("_line")
    if line is not None and not pd.isna(line):
        return {"line": int(line)}
    return {"record": row.get("_record")}


def _where(row: pd.Series) -> str:
    return ", ".join(f"{k} {v!r}" if k == "record" else f"{k} {v}" for k, v in _at(row).items())


def _single_csv(raw: Path) -> Path:
    files = sorted(raw.glob("*.csv")) if raw.is_dir() else [raw]
    if len(files) != 1:
        raise InputError(raw, f"expected exactly one CSV file, found {[f.name for f in files]}")
    return files[0]


READERS: dict[str, Callable[[Path], tuple[pd.DataFrame, Report]]] = {
    "cancer": cancer, "dreaddit": dreaddit, "pirina": pirina, "fig_loneliness": fig_loneliness,
}


def ingest(dataset: str, raw: str | Path, origin: str | Path | None = None,
           **options: Any) -> tuple[pd.DataFrame, Report]:
    """Read dataset ``dataset`` from its raw folder; ``options`` go to its reader. Errors name
    ``origin`` (the file or folder the user configured) instead of the workflow's copy."""
    try:
        return READERS[dataset](Path(raw), **options)
    except InputError as exc:
        if origin is None:
            raise
        raise exc.relocated(raw, origin) from None
