"""Split assignment: official splits kept, a seeded stratified dev carved where one is missing,
otherwise seeded stratified train/dev/test. Where rows come in groups (Dreaddit: several
segments of one post; a user's csv with ``columns.group``, e.g. the author), whole groups go
to one side, stratified by the classes where a classification task exists. Written once per
dataset, reused by every job."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from psymtl.errors import InputError

SPLITS = ("train", "dev", "test")


def stratum(df: pd.DataFrame, column: str | None) -> pd.Series:
    """A hashable stratification key (argmax for vote-vector columns, 'NA' for missing; one
    stratum for all when ``column`` is None)."""
    if column is None:
        return pd.Series("all", index=df.index)
    col = df[column]
    if col.map(lambda v: isinstance(v, list | np.ndarray)).any():
        return col.map(lambda v: str(int(np.argmax(v))))
    return col.astype("string").fillna("NA")


def assign(df: pd.DataFrame, stratify: str | None, seed: int, dev_fraction: float,
           ratios: tuple[float, float, float], name: str = "dataset",
           group: str | None = None) -> pd.DataFrame:
    """Return a frame ``id, split`` for every row of ``df``; rows sharing a ``group`` value
    always land in the same split."""
    official = df["source_split"].dropna().unique().tolist() if "source_split" in df else []
    split = pd.Series(index=df.index, dtype="object")
    y = stratum(df, stratify)
    g = df[group].astype(str) if group else None
    if set(official) >= set(SPLITS):
        split[:] = df["source_split"]
    elif set(official) >= {"train", "test"}:
        split[:] = df["source_split"]
        train = df.index[df["source_split"] == "train"]
        _, dev = _split(train, y[train], dev_fraction, seed, name, "train -> dev", g)
        split[dev] = "dev"
    else:
        rest, test = _split(df.index, y, ratios[2], seed, name, "all -> test", g)
        _, dev = _split(rest, y[rest], ratios[1] / (ratios[0] + ratios[1]), seed, name,
                        "rest -> dev", g)
        split[:] = "train"
        split[dev] = "dev"
        split[test] = "test"
    out = pd.DataFrame({"id": df["id"], "split": split.astype(str)})
    check_classes(out, y, name, stratify)
    return out


def report(df: pd.DataFrame, split: pd.DataFrame, group: str | None = None) -> dict:
    """Rows per split and, with ``group``, groups per split and how many groups have rows in
    more than one split (0 unless the data's own official splits put them there)."""
    s = split.set_index("id")["split"].reindex(df["id"]).to_numpy()
    out: dict = {"rows": {k: int((s == k).sum()) for k in SPLITS}}
    if group:
        g = pd.DataFrame({"group": df[group].astype(str).to_numpy(), "split": s})
        out["group"] = group
        out["groups"] = {k: int(g.loc[g["split"] == k, "group"].nunique()) for k in SPLITS}
        out["groups_in_several_splits"] = int((g.groupby("group")["split"].nunique() > 1).sum())
    return out


def _split(index: pd.Index, y: pd.Series, frac: float, seed: int, name: str,
           what: str, groups: pd.Series | None = None) -> tuple[pd.Index, pd.Index]:
    """Stratified ``frac`` of ``index`` held out; with ``groups``, one fold of a stratified
    group k-fold with k = round(1 / frac), so whole groups are held out."""
    try:
        if groups is None:
            a, b = train_test_split(index, test_size=frac, random_state=seed, stratify=y)
        else:
            folds = StratifiedGroupKFold(n_splits=max(2, round(1 / frac)), shuffle=True,
                                         random_state=seed)
            keep, out = next(folds.split(np.zeros(len(index)), y[index], groups[index]))
            a, b = index[keep], index[out]
    except ValueError as exc:
        raise InputError(name, f"cannot make a stratified split ({what}, {len(index)} rows, "
                         f"class counts {y.value_counts().to_dict()}): {exc}") from None
    return pd.Index(a), pd.Index(b)


def check_classes(split: pd.DataFrame, y: pd.Series, name: str, field: str) -> None:
    """Every labelled class seen in train must also appear in dev and test."""
    classes = set(y[y != "NA"])
    for s in SPLITS:
        have = set(y[(split["split"] == s).to_numpy() & (y != "NA").to_numpy()])
        if have and classes - have:
            raise InputError(name, f"class(es) {sorted(classes - have)} missing from the {s} "
                             "split; add data or change the split settings", field=field)
