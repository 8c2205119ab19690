"""The Snakemake workflow itself: dry runs of the shipped configs, a tiny end-to-end run of
the whole DAG, and exact partial reruns after config edits (read from `snakemake -n`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import copy_workflow, snakemake
from llm_server import LLMServer

# the tiny config, then the LLM server's address that the tiny_run fixture writes
TINY = ["--configfile", "tests/configs/tiny.yaml", "tests/configs/llm.yaml"]
SECRET = "sk-tiny-run-DO-NOT-LEAK-7319"


@pytest.mark.parametrize("extra", [[], ["--configfile", "configs/paper.yaml"],
                                   ["--configfile", "configs/shared-data.yaml"]])
def test_dry_run(workflow, extra):
    out = snakemake(workflow, "-n", *extra).stdout
    assert "train" in out and "tables" in out and "stats" in out


def test_bad_config_stops_with_the_key(workflow):
    proc = snakemake(workflow, "-n", "--config", "threads_per_job=0", check=False)
    assert proc.returncode != 0
    assert "threads_per_job: 0 is less than the minimum of 1" in proc.stdout + proc.stderr


def test_confounded_comparison_stops_the_dag_naming_the_key(workflow):
    conf = workflow / "confound.yaml"
    conf.write_text(yaml.safe_dump({"studies": {"B": {"conditions": {
        "double_encoders": {"model_args": {"pooling": "cls"}}}}}}))
    proc = snakemake(workflow, "-n", "--configfile", "confound.yaml", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "confounded comparisons" in out
    assert "double_encoders vs single_task_stacked" in out and "model_args.pooling" in out


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """The whole tiny DAG, Study A annotated through the OpenAI path (the real client against
    a local server) with a secret key in the environment, as a real run would be."""
    wf = copy_workflow(tmp_path_factory.mktemp("e2e") / "wf")
    with LLMServer() as server, pytest.MonkeyPatch.context() as env:
        env.setenv("PSYMTL_TINY_KEY", SECRET)
        llm = {"annotation": {"backend": "openai", "openai": {
            "model": "gpt-4o-mini", "base_url": server.url, "api_key_env": "PSYMTL_TINY_KEY"}}}
        (wf / "tests" / "configs" / "llm.yaml").write_text(yaml.safe_dump(llm))
        snakemake(wf, *TINY, "--cores", "2")
        assert server.auth_headers and set(server.auth_headers) == {f"Bearer {SECRET}"}
        yield wf


def planned(wf: Path, extra: str) -> dict[str, set[str]]:
    """rule -> set of 'wildcards' strings of the jobs a dry run with the tiny config and the
    extra config file ``extra`` would execute (one --configfile: the last flag would win)."""
    out = snakemake(wf, "-n", *TINY, extra).stdout
    jobs: dict[str, set[str]] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", out):
        m = re.match(r"(?:local)?rule (\w+):", block.strip())
        if m:
            w = re.search(r"wildcards: (.*)", block)
            jobs.setdefault(m.group(1), set()).add(w.group(1) if w else "")
    return jobs


def edit(wf: Path, name: str, change: dict) -> str:
    path = wf / "tests" / "configs" / name
    path.write_text(yaml.safe_dump(change))
    return f"tests/configs/{name}"


@pytest.mark.slow
def test_end_to_end_outputs(tiny_run):
    res = tiny_run / "results"
    summary = pd.read_csv(res / "tables" / "summary.csv")
    assert set(summary["study"]) == {"A", "B", "C"}
    # every run is counted once: healthy, or named as collapsed (the tiny random encoder
    # collapses most of them onto one class: the guard sees it end to end)
    collapsed = summary["collapsed_seeds"].fillna("").astype(str).str.split().str.len()
    assert (summary["n_seeds"] + collapsed == 2).all() and collapsed.sum() > 0
    for study, cond in (("A", "hard_regular"), ("B", "single_task"), ("C", "flat")):
        run = res / study / cond / "seed1"
        assert set(pd.read_parquet(run / "predictions.parquet")["split"]) == {"dev", "test"}
        assert json.loads((run / "metrics.json").read_text())["test"]
        assert not (run / "resume.pt").exists()
    assert json.loads((res / "data" / "cancer.report.json").read_text())["dropped_empty_text"] == 1
    sig = pd.read_csv(res / "tables" / "significance.csv")
    assert len(sig) == 13 and sig["note"].str.contains("Wilcoxon needs").all()  # 2 seeds
    assert sig["p_bootstrap_adj"].notna().all()
    assert sig["verdict"].str.contains("over seeds: too few seeds").all()
    assert not sig["verdict"].str.startswith("reproduced: significant").any()
    bad = sig["collapsed"].fillna("") != ""
    assert bad.any() and sig.loc[bad, "verdict"].str.startswith("not counted: collapsed").all()
    summary = json.loads((res / "B" / "attention_fusion" / "seed2" / "train_summary.json")
                         .read_text())
    assert summary["settings"]["model_args"] == {"pooling": "mean", "dropout": 0.1,
                                                 "fusion": "attention"}
    assert summary["settings"]["seed"] == 2 and summary["settings"]["encoder"] == "tiny-bert"
    assert summary["machine"]["cpu"] and (res / "benchmarks" / "train" / "B" /
                                          "attention_fusion" / "seed2.tsv").exists()
    for name in ("A_metrics.png", "A_calibration.png", "B_attention_fusion_attention.png",
                 "C_hdln_learned_loss_weights.png", "A_composite_loss_weights.png"):
        assert (res / "figures" / name).stat().st_size > 5000, name
    assert "Table 4" in (res / "tables" / "paper_comparison.md").read_text()
    assert (res / "tables" / "paper_comparison.tex").read_text().startswith("\\begin{tabular}")
    usage = json.loads((res / "annotations" / "cancer.usage.json").read_text())
    assert usage["failed"] == 0 and usage["annotated"] == usage["posts"]


@pytest.mark.slow
def test_html_report(tiny_run):
    snakemake(tiny_run, *TINY, "--report", "report.html")
    html = (tiny_run / "report.html").read_text(errors="replace")
    assert len(html) > 100_000 and "significance.csv" in html


@pytest.mark.slow
def test_api_key_reaches_no_file(tiny_run):
    """Logs, caches, results, Snakemake's own records and the report: no trace of the key."""
    if not (tiny_run / "report.html").exists():
        snakemake(tiny_run, *TINY, "--report", "report.html")
    files = [f for f in tiny_run.rglob("*") if f.is_file()]
    assert any(f.suffix == ".sqlite" for f in files) and any(f.suffix == ".log" for f in files)
    for f in files:
        assert SECRET.encode() not in f.read_bytes(), f


@pytest.mark.slow
def test_unchanged_rerun_does_nothing(tiny_run):
    out = snakemake(tiny_run, "-n", *TINY)
    assert "Nothing to be done" in out.stdout + out.stderr


@pytest.mark.slow
def test_hyperparameter_edit_reruns_exactly_that_condition(tiny_run):
    extra = edit(tiny_run, "lr.yaml", {"studies": {"B": {"conditions": {"transfer": {
        "tasks": ["depression"], "pretrain_tasks": ["stress"], "lr": 0.002}}}}})
    jobs = planned(tiny_run, extra)
    assert jobs["train"] == {"study=B, condition=transfer, seed=1",
                             "study=B, condition=transfer, seed=2"}
    assert set(jobs) == {"train", "tables", "figure_metrics", "all"}
    assert jobs["figure_metrics"] == {"study=B"}


@pytest.mark.slow
def test_new_seed_trains_only_that_seed(tiny_run):
    jobs = planned(tiny_run, edit(tiny_run, "seed.yaml", {"seeds": [1, 2, 3]}))
    assert jobs["train"] and all(w.endswith("seed=3") for w in jobs["train"])
    assert not {"fetch", "ingest", "split", "tokenize", "annotate", "mlm_adapt"} & set(jobs)
    assert {"tables", "stats"} <= set(jobs)


@pytest.mark.slow
def test_annotation_model_switch_reruns_study_a_only(tiny_run):
    extra = edit(tiny_run, "ann.yaml", {"annotation": {"openai": {"model": "gpt-4.1-mini"}}})
    jobs = planned(tiny_run, extra)
    assert jobs["annotate"] == {"dataset=cancer"}
    assert {w.split(",")[0] for w in jobs["train"]} == {"study=A"}
    assert len(jobs["train"]) == 16  # every Study A condition and seed


def test_scripts_read_config_only_through_params():
    """A script that read `snakemake.config` would escape the params rerun trigger."""
    root = Path(__file__).resolve().parents[1]
    scripts = sorted((root / "scripts").glob("*.py"))
    assert scripts
    for path in scripts:
        assert not re.search(r"snakemake\s*\.\s*config\b", path.read_text()), path


@pytest.mark.slow
def test_reproduction_report_from_collected_runs(tiny_run, tmp_path):
    """collect copies each run's small outputs; build makes the report from them alone."""
    from psymtl import reproduction

    root = tmp_path / "runs"
    written = reproduction.collect(tiny_run / "results", root / "main")
    assert len(written) == len(list((tiny_run / "results").glob("*/*/seed*/metrics.json")))
    assert (root / "main" / "B" / "single_task" / "seed1" / "train.tsv").exists()
    config, paper, notes = reproduction.load_inputs(Path(__file__).resolve().parents[1])
    text = reproduction.build(root, tmp_path / "report.md", config, paper, notes)
    for part in ("## What ran", "## Study B", "## Study C", "## Significance",
                 "## Time per stage", "Table 4", "collapsed seeds", "not counted: collapsed"):
        assert part in text, part
    assert (tmp_path / "report" / "B_metrics.png").stat().st_size > 5000
    assert (tmp_path / "report" / "C_hdln_learned_loss_weights.png").stat().st_size > 5000


@pytest.mark.slow
def test_adding_a_sweep_value_runs_only_that_value(tiny_run):
    sweep = {"weighting.weights.stress": [0.01, 0.1, 0.5, 1.0]}
    extra = edit(tiny_run, "sweep.yaml", {"studies": {"B": {"conditions": {"double_encoders": {
        "sweep": sweep}}}}})
    jobs = planned(tiny_run, extra)
    new = "study=B, condition=double_encoders~weighting.weights.stress=0.5"
    assert jobs["train"] == {f"{new}, seed=1", f"{new}, seed=2"}
    assert jobs["sweep"] == {"study=B, condition=double_encoders, setting=weighting.weights.stress"}
    assert set(jobs) == {"train", "tables", "sweep", "all"}


@pytest.mark.slow
def test_sweep_table_and_figure(tiny_run):
    out = tiny_run / "results" / "sweeps" / "B" / "double_encoders"
    table = pd.read_csv(out / "weighting.weights.stress.csv")
    dep = table[(table["task"] == "depression") & (table["metric"] == "f1")
                & (table["split"] == "test")]
    collapsed = dep["collapsed_seeds"].fillna("").astype(str).str.split().str.len()
    assert dep["value"].tolist() == [0.01, 0.1, 1.0] and (dep["n_seeds"] + collapsed == 2).all()
    assert dep["configured"].tolist() == [True, False, False]
    two = dep[dep["n_seeds"] == 2]
    assert (two["ci_low"] <= two["mean"]).all() and (two["mean"] <= two["ci_high"]).all()
    assert set(table["split"]) == {"dev", "test"}  # a value is chosen on dev
    assert (out / "weighting.weights.stress.png").stat().st_size > 5000
    assert (tiny_run / "results" / "B" / "double_encoders~weighting.weights.stress=0.1"
            / "seed2" / "metrics.json").exists()


@pytest.mark.slow
def test_a_saved_model_scores_its_test_posts_as_training_did(tiny_run):
    """Reloaded from its Hugging Face layout, a saved run gives the same test predictions."""
    from psymtl import saved

    res = tiny_run / "results"
    card = (res / "B" / "double_encoders" / "MODEL_CARD.md").read_text()
    assert "Not a diagnostic tool" in card and "| depression | f1" in card
    df = pd.read_parquet(res / "data" / "dreaddit.parquet").merge(
        pd.read_parquet(res / "splits" / "dreaddit.parquet"), on="id")
    test = df[df["split"] == "test"][["id", "text"]].reset_index(drop=True)
    run = res / "B" / "double_encoders" / "seed2"
    scored, prov = saved.score([run / "model"], test, progress=False)
    pred = pd.read_parquet(run / "predictions.parquet")
    pred = pred[(pred["split"] == "test") & pred["stress__present"]]
    both = scored.merge(pred[["id", "stress__pred"]], on="id", validate="one_to_one")
    assert len(both) == len(test) > 10
    np.testing.assert_allclose(both[["stress:no", "stress:yes"]].to_numpy(),
                               np.stack(both["stress__pred"]), atol=1e-5)
    assert prov["seeds"] == [2] and prov["settings"]["model"] == "double_encoder"
    ran_bf16 = json.loads((run / "train_summary.json").read_text())["bf16_autocast"]
    assert prov["bf16_autocast"] == [ran_bf16]  # scored in the precision it ran in


@pytest.mark.slow
def test_predict_scores_a_users_posts_with_the_seeds_ensemble(tiny_run, tmp_path):
    from psymtl import saved

    posts = tmp_path / "posts.csv"
    pd.DataFrame({"id": ["a", "b", "c"], "text": ["I can't sleep and feel hopeless",
                                                  "great day at the park", "deadline stress"]}
                 ).to_csv(posts, index=False)
    extra = edit(tiny_run, "predict.yaml", {"predict": {"posts": str(posts)}})
    snakemake(tiny_run, "predict", *TINY, extra, "--cores", "2")
    out = pd.read_csv(tiny_run / "results" / "predict" / "B" / "double_encoders.csv")
    assert out["id"].tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(out[["depression:no", "depression:yes"]].sum(axis=1), 1, atol=1e-5)
    assert set(out["stress"]) <= {"no", "yes"}
    runs = [tiny_run / "results" / "B" / "double_encoders" / f"seed{s}" / "model" for s in (1, 2)]
    each = [saved.score([r], saved.read_posts(posts), progress=False)[0] for r in runs]
    np.testing.assert_allclose(out["depression:yes"],
                               (each[0]["depression:yes"] + each[1]["depression:yes"]) / 2,
                               atol=1e-6)
    prov = json.loads((tiny_run / "results" / "predict" / "B" / "double_encoders.json")
                      .read_text())
    assert prov["seeds"] == [1, 2] and prov["input"] == str(posts)
    posts.write_text("id,text\na,fine\nb,\n")  # an empty text: one line naming file, line, field
    proc = snakemake(tiny_run, "predict", *TINY, extra, "--cores", "2", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and str(posts) in out and "line 3" in out and "text" in out
