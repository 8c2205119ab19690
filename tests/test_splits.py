from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from psymtl import splits
from psymtl.errors import InputError


def frame(n: int, official: list | None = None, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": [f"r{i}" for i in range(n)], "text": "t",
                         "source_split": official if official is not None else [None] * n,
                         "y": rng.integers(0, 3, n)})


def test_no_official_split_gives_stratified_60_20_20():
    df = frame(500)
    out = splits.assign(df, "y", seed=1, dev_fraction=0.2, ratios=(0.6, 0.2, 0.2))
    counts = out["split"].value_counts()
    assert (counts["train"], counts["dev"], counts["test"]) == (300, 100, 100)
    share = pd.crosstab(out["split"], df["y"], normalize="index")
    assert (share.max() - share.min()).max() < 0.03  # stratified


def test_seeded_and_reproducible():
    df = frame(200)
    a = splits.assign(df, "y", 7, 0.2, (0.6, 0.2, 0.2))
    b = splits.assign(df, "y", 7, 0.2, (0.6, 0.2, 0.2))
    c = splits.assign(df, "y", 8, 0.2, (0.6, 0.2, 0.2))
    assert a.equals(b) and not a.equals(c)


def test_official_train_test_kept_and_dev_carved_from_train():
    df = frame(300, ["train"] * 200 + ["test"] * 100)
    out = splits.assign(df, "y", 1, 0.25, (0.6, 0.2, 0.2))
    assert (out["split"][200:] == "test").all()
    assert (out["split"][:200] == "dev").sum() == 50


def test_official_three_way_split_kept():
    official = ["train"] * 60 + ["dev"] * 20 + ["test"] * 20
    out = splits.assign(frame(100, official, seed=3), "y", 1, 0.2, (0.6, 0.2, 0.2))
    assert out["split"].tolist() == official


def test_vote_vectors_are_stratified_by_argmax():
    df = frame(100).assign(v=[[1, 0], [0, 1]] * 50)
    out = splits.assign(df, "v", 1, 0.2, (0.6, 0.2, 0.2))
    assert set(out["split"]) == {"train", "dev", "test"}


def test_too_small_to_split_is_a_clear_error():
    df = frame(6).assign(y=[0, 0, 0, 0, 0, 1])
    with pytest.raises(InputError, match="cannot make a stratified split"):
        splits.assign(df, "y", 1, 0.2, (0.6, 0.2, 0.2), name="tiny.parquet")


def test_class_missing_from_a_split_is_reported():
    official = ["train"] * 6 + ["dev"] * 2 + ["test"] * 2
    df = frame(10, official).assign(y=[0, 1, 2, 0, 1, 2, 0, 1, 0, 1])
    with pytest.raises(InputError, match=r"class\(es\) \['2'\] missing from the dev split"):
        splits.assign(df, "y", 1, 0.2, (0.6, 0.2, 0.2))


def test_groups_never_straddle_train_and_dev():
    """Dreaddit: several segments of one post must not land in train and dev both."""
    rng = np.random.default_rng(0)
    df = frame(600, ["train"] * 500 + ["test"] * 100)
    df["post"] = np.concatenate([rng.integers(0, 180, 500), np.arange(1000, 1100)])
    out = splits.assign(df, "y", 1, 0.2, (0.6, 0.2, 0.2), group="post")
    side = out.assign(post=df["post"])[out["split"] != "test"].groupby("post")["split"]
    assert (side.nunique() == 1).all()
    assert 0.12 < (out["split"] == "dev").sum() / 500 < 0.28
    share = pd.crosstab(out["split"], df["y"], normalize="index").loc[["train", "dev"]]
    assert (share.max() - share.min()).max() < 0.08  # still stratified


def leak_prone_csv(path, authors: int = 40, seed: int = 0) -> None:
    """Posts of few, prolific authors whose words give them away: a row-level split puts
    most authors on both sides."""
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(authors):
        label = "pos" if a % 2 else "neg"
        for k in range(int(rng.integers(2, 9))):
            rows.append({"author": f"user{a:02d}", "body": f"signature{a} says {label} {k}",
                         "label": label})
    pd.DataFrame(rows).to_csv(path, index=False)


def test_grouped_csv_keeps_every_author_in_one_split(tmp_path):
    from psymtl import datasets

    leak_prone_csv(tmp_path / "posts.csv")
    spec = {"kind": "csv", "columns": {"text": "body", "group": "author"},
            "tasks": {"sentiment": {"kind": "classification", "column": "label",
                                    "classes": ["neg", "pos"]}}}
    df, rep = datasets.ingest("mine", tmp_path / "posts.csv", "csv",
                              **datasets.options("mine", spec))
    assert rep["groups"] == 40 and datasets.group("mine", spec) == "group"
    stratify = datasets.kind("mine", spec).stratify(datasets.options("mine", spec))
    out = splits.assign(df, stratify, 3, 0.2, (0.6, 0.2, 0.2), group="group")
    per_author = pd.Series(out["split"].to_numpy(), index=df["group"]).groupby(level=0).nunique()
    assert (per_author == 1).all()
    rep = splits.report(df, out, "group")
    assert rep["groups_in_several_splits"] == 0
    assert sum(rep["groups"].values()) == 40 and min(rep["groups"].values()) >= 4
    assert sum(rep["rows"].values()) == len(df)
    for s in splits.SPLITS:  # stratified: both classes in every split
        assert set(df.loc[(out["split"] == s).to_numpy(), "sentiment"]) == {"neg", "pos"}
    # the same file split by rows leaks nearly every author across splits
    rows = splits.assign(df, stratify, 3, 0.2, (0.6, 0.2, 0.2))
    assert splits.report(df, rows, "group")["groups_in_several_splits"] > 20


def test_grouped_csv_with_its_own_split_column_must_not_straddle(tmp_path):
    from psymtl import datasets

    pd.DataFrame({"author": ["a", "a", "b", "b"], "body": ["w", "x", "y", "z"],
                  "part": ["train", "test", "train", "train"],
                  "label": ["neg", "pos", "neg", "pos"]}).to_csv(tmp_path / "p.csv", index=False)
    spec = {"columns": {"text": "body", "group": "author", "split": "part"},
            "tasks": {"sentiment": {"kind": "classification", "column": "label",
                                    "classes": ["neg", "pos"]}}}
    with pytest.raises(InputError, match=r"group 'a' has rows in \['test', 'train'\]"):
        datasets.ingest("mine", tmp_path / "p.csv", "csv", **spec)
