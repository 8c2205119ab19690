"""Synthetic corpora are written in the real formats and read back by the real ingestion code."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from psymtl import sources
from psymtl.datasets import cancer, dreaddit, fig_loneliness, pirina
from psymtl.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = (ROOT / "resources" / "dreaddit_columns.txt").read_text().split()


def test_cancer_csv_format_and_ingest(tmp_path):
    cancer.write_synthetic(tmp_path / "c.csv", n=60, seed=1)
    with open(tmp_path / "c.csv") as f:
        assert next(csv.reader(f)) == ["posts", "predicted", "intensity"]
    df, rep = cancer.read(tmp_path)
    assert rep["rows_read"] == 60
    assert rep["dropped_empty_text"] == 1  # like the real file: one missing post
    assert set(df.columns) >= {"id", "text", "emotion", "intensity", "source_split"}
    assert set(df["emotion"]) <= set(cancer.EMOTIONS)
    assert df["id"].is_unique and (df["text"].str.len() > 0).all()


def test_synthetic_is_deterministic(tmp_path):
    cancer.write_synthetic(tmp_path / "a.csv", n=40, seed=3)
    cancer.write_synthetic(tmp_path / "b.csv", n=40, seed=3)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_dreaddit_has_all_real_columns(tmp_path):
    dreaddit.write_synthetic(tmp_path, 30, 10, 1, COLUMNS)
    for split in ("train", "test"):
        head = pd.read_csv(tmp_path / f"dreaddit-{split}.csv", nrows=1)
        assert list(head.columns) == COLUMNS and len(COLUMNS) == 116
    df, _ = dreaddit.read(tmp_path)
    assert set(df["source_split"]) == {"train", "test"}
    assert set(df["stress"]) == {0, 1}
    assert df["post_id"].duplicated().any()  # posts give several segments


@pytest.mark.parametrize("setup, train_labels, test_labels, official", [
    ("forums_heldout", {"dsf", "ndf"}, set(), False),
    ("forums_to_do_nd", {"dsf", "ndf"}, {"do", "nd"}, True),
    ("do_nd", {"do", "nd"}, {"do", "nd"}, True)])
def test_pirina_setups(tmp_path, setup, train_labels, test_labels, official):
    pirina.write_synthetic(tmp_path, 8, 1)
    df, rep = pirina.read(tmp_path, setup)
    from_train = df["id"].str.startswith("pirina-train")
    assert set(df.loc[from_train, "forum_label"]) == train_labels
    assert set(df.loc[~from_train, "forum_label"]) == test_labels
    assert rep["not_in_setup_train"] == 8 * (7 - 2)
    assert rep["not_in_setup_test"] == 8 * (2 - len(test_labels))
    assert df["source_split"].notna().all() == official
    assert df["source_split"].isna().all() != official
    pos = {"dsf", "do"}
    assert (df["depression"] == df["forum_label"].isin(pos).astype(int)).all()


def test_same_text_with_other_labels_is_dropped_and_counted(tmp_path):
    """Which label is right is unknown: every copy goes (it could land in train and test)."""
    (tmp_path / "x.csv").write_text("posts,predicted,intensity\nsame post,neutral,0\n"
                                    "same post,positive,1\nagain,neutral,0\nagain,neutral,0\n"
                                    "other,negative,-1\n")
    df, rep = cancer.read(tmp_path)
    assert rep["dropped_conflicting_labels"] == 2 and rep["dropped_duplicates"] == 1
    assert df["text"].tolist() == ["again", "other"]


def test_fig_loneliness_save_to_disk_layout(tmp_path):
    fig_loneliness.write_synthetic(tmp_path, {"train": 20, "dev": 8, "test": 8}, seed=1)
    assert (tmp_path / "train_set" / "dataset_info.json").exists()
    df, rep = fig_loneliness.read(tmp_path)
    assert rep["rows_read_train"] == 20
    for col, names in fig_loneliness.CATEGORIES.items():
        assert df[col].map(len).eq(len(names)).all()
    lonely = df["lonely"].map(lambda v: v[1] == 1)
    votes = df.loc[lonely, "temporal"].map(sum)
    assert votes.eq(3).all()  # three annotators per lonely post
    assert df.loc[~lonely, "temporal"].map(sum).eq(0).all()


def test_missing_column_names_file_and_column(tmp_path):
    (tmp_path / "x.csv").write_text("text,predicted,intensity\nhello,neutral,0\n")
    with pytest.raises(InputError, match=r"x\.csv.*missing column\(s\) \['posts'\]"):
        cancer.read(tmp_path)


def test_bad_label_names_row_and_field(tmp_path):
    (tmp_path / "x.csv").write_text(
        "posts,predicted,intensity\na,neutral,0\nb,angry,0\n")
    with pytest.raises(InputError, match=r"line 3, field 'predicted': unexpected value 'angry'"):
        cancer.read(tmp_path)


def test_non_utf8_names_line(tmp_path):
    bad = b"posts,predicted,intensity\nok,neutral,0\n\xff\xfe,neutral,0\n"
    (tmp_path / "x.csv").write_bytes(bad)
    with pytest.raises(InputError, match=r"x.csv, line 3: byte 0xff at offset 39 is not UTF-8"):
        cancer.read(tmp_path)


def test_duplicates_and_overlap_are_counted(tmp_path):
    dreaddit.write_synthetic(tmp_path, 20, 10, 1, COLUMNS)
    train = pd.read_csv(tmp_path / "dreaddit-train.csv")
    test = pd.read_csv(tmp_path / "dreaddit-test.csv")
    dup = train.iloc[[0]].assign(id=99999)
    leak = test.iloc[[0]].assign(id=99998)
    pd.concat([train, dup, leak]).to_csv(tmp_path / "dreaddit-train.csv", index=False)
    df, rep = dreaddit.read(tmp_path)
    assert rep["dropped_duplicates"] == 1
    assert rep["dropped_train_test_overlap"] == 1
    assert not df.loc[df["source_split"] == "train", "text"].isin(test["text"]).any()


def test_empty_nan_and_whitespace_texts_are_counted(tmp_path):
    (tmp_path / "x.csv").write_text('posts,predicted,intensity\nfine,neutral,0\n,neutral,0\n'
                                    '"  \t ",positive,1\nNaN,negative,-1\n')
    df, rep = cancer.read(tmp_path)
    assert rep["dropped_empty_text"] == 2 and rep["rows"] == 2
    assert df["text"].tolist() == ["fine", "NaN"]  # "NaN" is a post's text, not missing


def test_duplicate_ids_name_both_rows(tmp_path):
    dreaddit.write_synthetic(tmp_path, 20, 10, 1, COLUMNS)
    test = pd.read_csv(tmp_path / "dreaddit-test.csv", dtype=str, keep_default_na=False)
    test.loc[3, "id"] = test.loc[1, "id"]
    test.to_csv(tmp_path / "dreaddit-test.csv", index=False)
    with pytest.raises(InputError) as err:
        dreaddit.read(tmp_path)
    msg = str(err.value)
    assert msg.startswith(f"{tmp_path / 'dreaddit-test.csv'}, line 5, field 'id': id ")
    assert "first at" in msg and "line 3" in msg


def test_url_source_checks_sha256(tmp_path):
    src = tmp_path / "train.csv"
    src.write_text("label,text\ndsf,hello\n")
    good = sources.sha256sum(src)
    out = tmp_path / "out"
    spec = {"kind": "url", "retries": 0,
            "files": {"train.csv": {"url": src.as_uri(), "sha256": good}}}
    sources.fetch("pirina", spec, out)
    assert (out / "train.csv").read_text() == src.read_text()
    spec["files"]["train.csv"]["sha256"] = "0" * 64
    with pytest.raises(sources.DownloadError, match="checksum mismatch"):
        sources.fetch("pirina", spec, tmp_path / "out2")


def test_real_datasets_ingest(shared_data):
    readme = (shared_data / "README.md").read_text()
    expected = dict(line.split()[::-1] for line in readme.splitlines()
                    if len(line.split()) == 2 and len(line.split()[0]) == 64)
    for rel, digest in expected.items():
        assert sources.sha256sum(shared_data / rel) == digest
    _, rep = dreaddit.read(shared_data / "dreaddit")
    assert rep["rows_read_train"] == 2838 and rep["rows_read_test"] == 715
    assert rep["dropped_train_test_overlap"] >= 3
    p, rep = pirina.read(shared_data / "depression-pirina", "forums_to_do_nd")
    assert rep["rows_read_train"] == 2800 and rep["rows_read_test"] == 800
    assert (p["source_split"] == "test").sum() == 800 and rep["not_in_setup_train"] == 2000
    _, rep = fig_loneliness.read(shared_data / "fig-loneliness")
    sizes = (rep["rows_read_train"], rep["rows_read_dev"], rep["rows_read_test"])
    assert sizes == (3943, 1126, 564)
    json.dumps(rep)


def test_a_post_longer_than_the_csv_modules_field_limit_is_read(tmp_path):
    import sys

    from psymtl.ingest import read_csv

    long = "word " * 40_000  # 200,000 characters, over the csv module's 131,072
    pd.DataFrame({"id": ["1", "2"], "text": [long, "short"]}).to_csv(tmp_path / "p.csv",
                                                                     index=False)
    before = csv.field_size_limit()
    df = read_csv(tmp_path / "p.csv", ["id", "text"])
    assert df["text"].str.len().tolist() == [len(long), 5] and df["_line"].tolist() == [2, 3]
    assert csv.field_size_limit() == before  # the process's limit is left as it was
    assert sys.maxsize >= before


def test_a_missing_file_lists_only_the_users_files(tmp_path):
    from psymtl.ingest import read_csv

    (tmp_path / "dreaddit-train.csv").write_text("id,text\n1,a\n")
    (tmp_path / ".snakemake_timestamp").write_text("")
    with pytest.raises(InputError) as exc:
        read_csv(tmp_path / "dreaddit-test.csv", ["id", "text"])
    assert "['dreaddit-train.csv']" in str(exc.value) and "snakemake" not in str(exc.value)
