"""Malformed inputs, each given as a `path` source and run through the real fetch / ingest /
split jobs: one clear line naming the configured file, the line (or record) and the field,
no traceback; and a source edited in place reruns exactly what depends on it."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import copy_workflow, snakemake

from psymtl import datasets

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = (ROOT / "resources" / "dreaddit_columns.txt").read_text().split()


def cancer(d: Path) -> Path:
    datasets.cancer.write_synthetic(d / "cancer.csv", 200, 1)
    return d / "cancer.csv"


def dreaddit(d: Path) -> Path:
    datasets.dreaddit.write_synthetic(d, 60, 30, 1, COLUMNS)
    return d


def pirina(d: Path) -> Path:
    datasets.pirina.write_synthetic(d, 20, 1)
    return d


def fig(d: Path) -> Path:
    datasets.fig_loneliness.write_synthetic(d, {"train": 40, "dev": 16, "test": 16}, 1)
    return d


def edit_csv(path: Path, change: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    change(df).to_csv(path, index=False)


def edit_fig(d: Path, split: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    from datasets import Dataset, load_from_disk

    folder = d / f"{split}_set"
    df = change(load_from_disk(str(folder)).to_pandas())
    shutil.rmtree(folder)
    Dataset.from_pandas(df, preserve_index=False).save_to_disk(str(folder))


def set_at(df: pd.DataFrame, row: int, col: str, value) -> pd.DataFrame:
    df.loc[row, col] = value
    return df


def one_hot_broken(df: pd.DataFrame) -> pd.DataFrame:
    df.at[3, "lonely"] = [1, 1]
    return df


def _zero_bytes(d: Path) -> Path:
    (d / "cancer.csv").write_bytes(b"")
    return d / "cancer.csv"


def _header_only(name: str, header: str) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        p = pirina(d) if name != "cancer.csv" else d
        (d / name).write_text(header + "\n")
        return p if name != "cancer.csv" else d / name
    return make


def _json_as_csv(d: Path) -> Path:
    (d / "cancer.csv").write_text(json.dumps([{"posts": "hi", "predicted": "neutral"}]))
    return d / "cancer.csv"


def _semicolons(d: Path) -> Path:
    pirina(d)
    text = (d / "train.csv").read_text().splitlines()
    (d / "train.csv").write_text("label;text\n" + "\n".join(
        line.replace(",", ";", 1) for line in text[1:]) + "\n")
    return d


def _non_utf8(d: Path) -> Path:
    (d / "cancer.csv").write_bytes(b"posts,predicted,intensity\nfine,neutral,0\n"
                                   b"bad \xff,neutral,0\n")
    return d / "cancer.csv"


def _without(name: str, make: Callable[[Path], Path]) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        p = make(d)
        target = d / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()
        return p
    return build


def _then(make: Callable[[Path], Path], change: Callable[[Path], None]) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        p = make(d)
        change(d)
        return p
    return build


# (case, dataset, files, words the message must contain, `None` where the run must succeed)
CASES = [
    ("zero-byte file", "cancer", _zero_bytes,
     ["cancer.csv: the file is empty"]),
    ("header only (cancer)", "cancer", _header_only("cancer.csv", "posts,predicted,intensity"),
     ["cancer.csv, line 1: has a header but no data rows"]),
    ("header only (pirina train)", "pirina", _header_only("train.csv", "label,text"),
     ["train.csv, line 1: has a header but no data rows"]),
    ("JSON saved as .csv", "cancer", _json_as_csv, ["cancer.csv, line 1: this is JSON, not CSV"]),
    ("semicolon-separated", "pirina", _semicolons,
     ["train.csv, line 1: missing column(s) ['label', 'text']", "separated by ';'"]),
    ("non-UTF-8 bytes", "cancer", _non_utf8, ["cancer.csv, line 3: byte 0xff", "UTF-8"]),
    ("missing column", "cancer",
     _then(cancer, lambda d: edit_csv(d / "cancer.csv", lambda df: df.drop(columns="intensity"))),
     ["cancer.csv, line 1: missing column(s) ['intensity']"]),
    ("label outside the schema", "cancer",
     _then(cancer, lambda d: edit_csv(d / "cancer.csv",
                                      lambda df: set_at(df, 4, "predicted", "angry"))),
     ["cancer.csv, line 6, field 'predicted': unexpected value 'angry'"]),
    ("intensity disagrees", "cancer",
     _then(cancer, lambda d: edit_csv(d / "cancer.csv",
                                      lambda df: set_at(df, 2, "intensity", "1"))),
     ["cancer.csv, line 4, field 'intensity'"]),
    ("Dreaddit test file missing", "dreaddit", _without("dreaddit-test.csv", dreaddit),
     ["missing dreaddit-test.csv"]),
    ("decimal comma", "dreaddit",
     _then(dreaddit, lambda d: edit_csv(d / "dreaddit-train.csv",
                                        lambda df: set_at(df, 7, "confidence", "0,8"))),
     ["dreaddit-train.csv, line 9, field 'confidence': '0,8' is not a number"]),
    ("duplicate id", "dreaddit",
     _then(dreaddit, lambda d: edit_csv(d / "dreaddit-test.csv",
                                        lambda df: set_at(df, 3, "id", df.loc[1, "id"]))),
     ["dreaddit-test.csv, line 5, field 'id'", "line 3"]),
    ("no post of the setup's forums", "pirina",
     _then(pirina, lambda d: edit_csv(d / "train.csv",
                                      lambda df: df[~df["label"].isin(["dsf", "ndf"])])),
     ["train.csv, field 'label': no post with a label of setup 'forums_heldout'"]),
    ("lonely not one-hot", "fig_loneliness",
     _then(fig, lambda d: edit_fig(d, "train", one_hot_broken)),
     ["train_set, record", "field 'lonely': expected a one-hot"]),
    ("FIG split folder missing", "fig_loneliness", _without("test_set", fig),
     ["missing split folder test_set/"]),
    ("too small to split", "cancer",
     _then(cancer, lambda d: edit_csv(d / "cancer.csv", lambda df: df.iloc[:6])),
     ["cannot make a stratified split"]),
    ("source path missing", "pirina", lambda d: d / "nowhere",
     ["nowhere: datasets.pirina.path does not exist"]),
    ("same text, other labels: dropped and counted", "cancer",
     _then(cancer, lambda d: edit_csv(d / "cancer.csv", lambda df: pd.concat(
         [df, df.iloc[[3]].assign(predicted="positive", intensity="1")]))), None),
]


@pytest.fixture(scope="module")
def wf(tmp_path_factory) -> Path:
    return copy_workflow(tmp_path_factory.mktemp("inputs") / "wf")


@pytest.fixture(scope="module")
def outcomes(wf, tmp_path_factory) -> dict[str, tuple[int, list[str], dict | None]]:
    """Every case run through the real jobs; the cases of different datasets share a
    Snakemake run (--keep-going), each named by its own folder in the messages."""
    pending = {c[0]: c for c in CASES}
    out = {}
    while pending:
        batch, seen = {}, set()
        for name, (_, dataset, make, _) in list(pending.items()):
            if dataset not in seen:
                seen.add(dataset)
                folder = tmp_path_factory.mktemp("case")
                batch[name] = (dataset, folder, make(folder))
                del pending[name]
        (wf / "case.yaml").write_text(yaml.safe_dump({"datasets": {
            d: {"source": "path", "path": str(src)} for d, _, src in batch.values()}}))
        shutil.rmtree(wf / "results", ignore_errors=True)
        proc = snakemake(wf, *[f"results/splits/{d}.parquet" for d, _, _ in batch.values()],
                         "--cores", "2", "--keep-going", "--configfile", "case.yaml",
                         check=False)
        text = proc.stdout + proc.stderr
        assert "Traceback" not in text and "np.int64" not in text, text[-3000:]
        for name, (dataset, folder, _) in batch.items():
            errors = [x for x in text.splitlines() if x.startswith("error: ")
                      and re.search(re.escape(str(folder)) + "[/:,]", x)]
            report = wf / "results" / "data" / f"{dataset}.report.json"
            split = wf / "results" / "splits" / f"{dataset}.parquet"
            out[name] = (folder, errors, json.loads(report.read_text())
                         if split.exists() and report.exists() else None)
    return out


@pytest.mark.parametrize("case, dataset, make, words", CASES, ids=[c[0] for c in CASES])
def test_malformed_input_gets_one_clear_line(outcomes, case, dataset, make, words):
    folder, errors, report = outcomes[case]
    if words is None:
        assert not errors and report is not None, errors
        assert report["dropped_conflicting_labels"] == 2
        return
    assert report is None and len(errors) == 1, errors
    assert errors[0].startswith(f"error: {folder}"), errors  # the path the user gave
    for w in words:
        assert w in errors[0], (w, errors[0])
    assert "results/raw" not in errors[0]


def test_a_source_edited_in_place_reruns_from_fetch_and_only_then(wf, tmp_path):
    src = pirina(tmp_path / "pirina")
    (wf / "edit.yaml").write_text(yaml.safe_dump(
        {"datasets": {"pirina": {"source": "path", "path": str(src)}}}))
    target = ["results/splits/pirina.parquet", "--configfile", "edit.yaml"]
    snakemake(wf, *target, "--cores", "1")
    assert "Nothing to be done" in snakemake(wf, *target, "-n").stdout
    (src / "train.csv").touch()  # touched, not changed: nothing reruns
    assert "Nothing to be done" in snakemake(wf, *target, "-n").stdout
    edit_csv(src / "train.csv", lambda df: set_at(df, 0, "label", "xx"))
    dry = snakemake(wf, *target, "-n").stdout
    assert {"fetch", "ingest", "split"} <= set(_rules(dry))
    proc = snakemake(wf, *target, "--cores", "1", check=False)
    assert proc.returncode != 0 and "line 2, field 'label': unexpected value 'xx'" in proc.stderr
    edit_csv(src / "train.csv", lambda df: set_at(df, 0, "label", "dsf"))  # fixed: runs again
    snakemake(wf, *target, "--cores", "1")


def _rules(dry: str) -> list[str]:
    return [line.split()[1].rstrip(":") for line in dry.splitlines()
            if line.startswith(("rule ", "localrule "))]


def test_a_failing_job_says_one_line_in_one_write(tmp_path):
    """The user's error leaves the job as one line written at once (jobs failing together
    never interleave mid-line) and exit status 1; the log file has it too."""
    import subprocess
    import sys

    log = tmp_path / "job.log"
    code = ("from psymtl import logs\nfrom psymtl.errors import InputError\n"
            f"with logs.to_file({str(log)!r}):\n    raise InputError('data.csv', 'bad', line=3)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1
    assert proc.stderr == "error: data.csv, line 3: bad\n"
    assert "data.csv, line 3: bad" in log.read_text()
