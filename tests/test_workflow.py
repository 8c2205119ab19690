"""The Snakemake workflow itself: dry runs of the shipped configs, and a tiny end-to-end run."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import snakemake


@pytest.mark.parametrize("extra", [[], ["--configfile", "configs/paper.yaml"],
                                   ["--configfile", "configs/shared-data.yaml"]])
def test_dry_run(workflow, extra):
    out = snakemake(workflow, "-n", *extra).stdout
    assert "train" in out and "tables" in out


def test_bad_config_stops_with_the_key(workflow):
    proc = snakemake(workflow, "-n", "--config", "threads_per_job=0", check=False)
    assert proc.returncode != 0
    assert "threads_per_job: 0 is less than the minimum of 1" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_end_to_end_tiny(workflow):
    snakemake(workflow, "--configfile", "tests/configs/tiny.yaml", "--cores", "2")
    res = workflow / "results"
    summary = pd.read_csv(res / "tables" / "summary.csv")
    assert set(summary["study"]) == {"A", "B", "C"}
    assert (summary["n_seeds"] == 2).all()
    md = (res / "tables" / "summary.md").read_text()
    assert "hard_regular" in md and "single_task" in md and "flat" in md
    for study, cond in (("A", "hard_regular"), ("B", "single_task"), ("C", "flat")):
        run = res / study / cond / "seed1"
        pred = pd.read_parquet(run / "predictions.parquet")
        assert set(pred["split"]) == {"dev", "test"}
        assert json.loads((run / "metrics.json").read_text())["test"]
        assert not (run / "resume.pt").exists()
    report = json.loads((res / "data" / "cancer.report.json").read_text())
    assert report["dropped_empty_text"] == 1
    again = snakemake(workflow, "--configfile", "tests/configs/tiny.yaml", "-n")
    assert "Nothing to be done" in again.stdout + again.stderr
