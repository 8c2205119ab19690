"""Your own data, no code: a fourth study on a CSV the test writes, described in config only,
through ingestion, splits, training, evaluation, statistics, tables and figures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import copy_workflow, snakemake

CUES = {"pos": ("what a lovely calm day", "I feel great and rested"),
        "neg": ("everything went wrong again", "I feel awful and tired")}


def own_csv(path, n: int = 96, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        votes = rng.multinomial(3, [0.7, 0.2, 0.1] if label == "pos" else [0.1, 0.2, 0.7])
        rows.append({"post_id": f"p{i:03d}", "body": f"{rng.choice(CUES[label])}, note {i}",
                     "part": "test" if i % 5 == 0 else "train", "label": label,
                     "score": round(float(rng.normal(3 if label == "pos" else 1, 0.5)), 2),
                     "v_a": votes[0], "v_b": votes[1], "v_c": votes[2]})
    pd.DataFrame(rows).to_csv(path, index=False)


@pytest.mark.slow
def test_a_study_on_your_own_csv_runs_end_to_end(tmp_path):
    wf = copy_workflow(tmp_path / "wf")
    own_csv(tmp_path / "mine.csv")
    own = {
        "run_studies": ["D"],
        "datasets": {"mine": {
            "kind": "csv", "source": "path", "path": str(tmp_path / "mine.csv"),
            "columns": {"id": "post_id", "text": "body", "split": "part"},
            "tasks": {"sentiment": {"kind": "classification", "column": "label",
                                    "classes": ["neg", "pos"]},
                      "rating": {"kind": "regression", "column": "score"},
                      "votes": {"kind": "distribution", "columns": ["v_a", "v_b", "v_c"]}}}},
        "studies": {"D": {"conditions": {
            "single": {"tasks": ["sentiment"]},
            "multi": {"tasks": ["sentiment", "rating", "votes"],
                      "weighting": {"kind": "kendall"}}}}},
        "stats": {"comparisons": [{"study": "D", "a": "multi", "b": "single",
                                   "task": "sentiment", "metric": "f1",
                                   "about": ["tasks", "weighting"], "expect": "a_better"}]},
    }
    (wf / "own.yaml").write_text(yaml.safe_dump(own))
    snakemake(wf, "--cores", "2", "--configfile", "tests/configs/tiny.yaml", "own.yaml")
    res = wf / "results"
    report = json.loads((res / "data" / "mine.report.json").read_text())
    assert report["rows"] == 96
    split = pd.read_parquet(res / "splits" / "mine.parquet")
    assert set(split["split"]) == {"train", "dev", "test"}  # dev carved from the train rows
    metrics = json.loads((res / "D" / "multi" / "seed1" / "metrics.json").read_text())
    assert {"sentiment", "rating", "votes"} <= set(metrics["test"])
    assert {"f1", "r2", "intersection"} <= {m for v in metrics["test"].values() for m in v}
    sig = pd.read_csv(res / "tables" / "significance.csv")
    assert sig[["study", "a", "b"]].values.tolist() == [["D", "multi", "single"]]
    assert set(pd.read_csv(res / "tables" / "summary.csv")["study"]) == {"D"}
    for fig in ("D_metrics.png", "D_multi_loss_weights.png"):
        assert (res / "figures" / fig).stat().st_size > 5000
    assert not (res / "A").exists() and not (res / "annotations").exists()


@pytest.mark.slow
def test_a_grouped_csv_is_split_by_author_in_the_workflow(tmp_path):
    """`columns: {group: author}` reaches the split stage through the config: no author on
    two sides, groups counted per split in the reports."""
    wf = copy_workflow(tmp_path / "wf")
    rng = np.random.default_rng(1)
    rows = [{"author": f"u{a}", "body": f"user {a} writes {'pos' if a % 2 else 'neg'} #{k}",
             "label": "pos" if a % 2 else "neg"}
            for a in range(30) for k in range(int(rng.integers(2, 7)))]
    pd.DataFrame(rows).to_csv(tmp_path / "mine.csv", index=False)
    own = {"datasets": {"mine": {
        "kind": "csv", "source": "path", "path": str(tmp_path / "mine.csv"),
        "columns": {"text": "body", "group": "author"},
        "tasks": {"sentiment": {"kind": "classification", "column": "label",
                                "classes": ["neg", "pos"]}}}}}
    (wf / "own.yaml").write_text(yaml.safe_dump(own))
    snakemake(wf, "results/splits/mine.parquet", "--cores", "2", "--configfile",
              "tests/configs/tiny.yaml", "own.yaml")
    res = wf / "results"
    data = pd.read_parquet(res / "data" / "mine.parquet")
    split = data.merge(pd.read_parquet(res / "splits" / "mine.parquet"), on="id")
    assert (split.groupby("group")["split"].nunique() == 1).all()
    report = json.loads((res / "splits" / "mine.report.json").read_text())
    assert report["groups_in_several_splits"] == 0 and sum(report["groups"].values()) == 30
    assert json.loads((res / "data" / "mine.report.json").read_text())["groups"] == 30
