"""A saved run's ``model/README.md`` is a Hub model card whose front matter matches the run's
own files; the condition's card is its seed ensemble's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import copy_workflow, snakemake

from psymtl import model_card

METRICS = {
    "dev": {"stress": {"f1": 0.5, "n": 10}},
    "test": {"stress": {"f1": 0.71, "accuracy": 0.75, "n": 40},
             "depression": {"f1": 0.33, "accuracy": 0.5, "n": 30},
             "subscales_mean": {"f1_weighted": 0.5}},  # an aggregate, not a head: text only
    "health": {"test": {  # the collapse guard's measurements: depression collapsed
        "depression": {"n": 30, "top_class": 0, "top_share": 1.0, "gold_share_of_top": 0.6,
                       "gold_top_share": 0.6, "classes_predicted": 1, "classes_gold": 2},
        "stress": {"n": 40, "top_class": 1, "top_share": 0.55, "gold_share_of_top": 0.5,
                   "gold_top_share": 0.5, "classes_predicted": 2, "classes_gold": 2}}},
}
HEALTHY = {"test": {}}  # measurements with no collapsed task
THRESHOLDS = {"max_class_share": 0.95, "min_excess": 0.10, "min_sd_ratio": 0.10}


def front_matter(text: str) -> tuple[dict, str]:
    """The YAML between the opening ``---`` lines, and the body."""
    assert text.startswith("---\n"), "a Hub card starts with its YAML front matter"
    head, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(head), body


def check_hub_card(model_dir: Path, metrics_file: Path) -> dict:
    """What the Hub reads from a card: required fields present and well-formed, the
    ``model-index`` parsed by huggingface_hub, each value the run's own test metric, none for
    a collapsed task. Returns the front matter."""
    from huggingface_hub import ModelCard

    text = (model_dir / "README.md").read_text()
    meta, body = front_matter(text)
    info = json.loads((model_dir / "psymtl.json").read_text())
    metrics = json.loads(metrics_file.read_text())
    assert meta["license"] == "other" and meta["license_name"] == model_card.LICENSE_NAME
    assert meta["library_name"] == "psymtl" and meta["language"] == ["en"]
    assert meta["pipeline_tag"] == "text-classification" and "psymtl" in meta["tags"]
    card = ModelCard(text)  # the Hub client's own parser of the metadata
    results = card.data.eval_results or []
    gone = set(model_card.collapsed(metrics, THRESHOLDS))
    expected = {(t, k): v for t, vals in metrics["test"].items()  # the model's own heads:
                if t in info["tasks"] and t not in gone  # not a peer's or an aggregate's
                for k, v in vals.items() if k != "n"}
    got = {(r.task_name, r.metric_type): r.metric_value for r in results}
    assert got == pytest.approx(expected, abs=1e-6)
    assert {r.task_name for r in results} <= set(info["tasks"]) - gone
    assert all(r.dataset_split == "test" for r in results)
    for t in gone:
        assert f"`{t}`" in body.split("Collapsed predictions on:", 1)[1].split("\n")[0]
    if not gone:
        assert "No task collapsed" in body
    for part in ("## How to use", "## Training data", "## Intended use and limits",
                 "Not a diagnostic tool", "## Licence", "MIT"):
        assert part in body, part
    return meta


def fake_run(tmp_path: Path, encoder: str, tasks: dict[str, str],
             metrics: dict = METRICS) -> tuple[Path, Path, Path]:
    """The files of a saved run a card reads (no weights needed)."""
    model = tmp_path / "seed1" / "model"
    model.mkdir(parents=True)
    info = {"tasks": {t: {"name": t, "kind": "classification", "dataset": d,
                          "column": t, "classes": ["no", "yes"], "peers": []}
                      for t, d in tasks.items()},
            "layout": {"max_length": 128}, "seed": 1,
            "settings": {"encoder": encoder, "model": "double_encoder", "tasks": list(tasks),
                         "model_args": {"pooling": "mean"}, "epochs": 2, "lr": 5e-5,
                         "batch_size": 16, "seed": 1}}
    (model / "psymtl.json").write_text(json.dumps(info))
    (tmp_path / "seed1" / "metrics.json").write_text(json.dumps(metrics))
    summary = {"settings": info["settings"], "examples": {"train": 100, "dev": 20, "test": 70},
               "machine": {"cpu": "AMD EPYC", "torch": "2.13.0", "gpu": None}}
    (tmp_path / "seed1" / "train_summary.json").write_text(json.dumps(summary))
    return model, tmp_path / "seed1" / "metrics.json", tmp_path / "seed1" / "train_summary.json"


def test_card_of_a_run_on_the_real_data_sets(tmp_path):
    model, metrics, summary = fake_run(tmp_path, "minilm",
                                       {"stress": "dreaddit", "depression": "pirina"})
    used = {"dreaddit": {"kind": "dreaddit", "source": "url"},
            "pirina": {"kind": "pirina", "source": "path"}}
    model_card.write_readme(model, metrics, summary, used, "B", "double_encoders",
                            THRESHOLDS)
    meta = check_hub_card(model, metrics)
    assert meta["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert meta["datasets"] == ["dreaddit", "pirina"] and "synthetic-data" not in meta["tags"]
    assert meta["model-index"][0]["name"] == "psymtl-B-double_encoders-seed1"
    body = front_matter((model / "README.md").read_text())[1]
    assert "Turcan & McKeown 2019" in body and "Pirina & Çöltekin 2018" in body
    assert body.count("see the dataset's terms") == 4  # data and licence sections: no licence known
    assert "apache-2.0" in body and "Non-commercial" not in body


def test_card_names_licences_and_the_non_commercial_limit(tmp_path):
    model, metrics, summary = fake_run(
        tmp_path, "bert-base-uncased", {"lonely": "fig_loneliness", "emotion": "cancer"},
        {"test": {"lonely": {"f1": 0.8, "n": 5}, "emotion": {"f1": 0.4, "n": 5}}})
    used = {"fig_loneliness": {"kind": "fig_loneliness", "source": "hf"},
            "cancer": {"kind": "cancer", "source": "path"}}
    model_card.write_readme(model, metrics, summary, used, "C", "flat", THRESHOLDS)
    meta = check_hub_card(model, metrics)  # no "health" key (older files): none collapsed
    assert meta["base_model"] == "bert-base-uncased"
    assert meta["datasets"] == ["FIG-Loneliness/FIG-Loneliness", "cancer"]
    body = front_matter((model / "README.md").read_text())[1]
    assert "CC BY-NC 4.0" in body and "CC BY 4.0" in body and "Non-commercial use only" in body


def test_card_of_a_run_on_synthetic_data_claims_no_real_data_set(tmp_path):
    model, metrics, summary = fake_run(tmp_path, "tiny-bert", {"stress": "dreaddit"},
                                       {"test": {"stress": {"f1": 0.6, "n": 4}},
                                        "health": HEALTHY})
    model_card.write_readme(model, metrics, summary,
                            {"dreaddit": {"kind": "dreaddit", "source": "synthetic"}}, "B", "x",
                            THRESHOLDS)
    meta = check_hub_card(model, metrics)
    assert "datasets" not in meta and "base_model" not in meta  # a random test encoder
    assert "synthetic-data" in meta["tags"]
    dataset = meta["model-index"][0]["results"][0]["dataset"]
    assert dataset["name"] == "Dreaddit (synthetic stand-in)"


def test_the_seed_ensembles_card_leaves_out_a_seeds_collapsed_task(tmp_path):
    runs = []
    for seed, health in ((1, METRICS["health"]), (2, HEALTHY)):
        m = {**METRICS, "health": health}
        model, metrics, summary = fake_run(tmp_path / f"s{seed}", "minilm",
                                           {"stress": "dreaddit", "depression": "pirina"}, m)
        s = json.loads(summary.read_text())
        s["settings"]["seed"] = seed
        summary.write_text(json.dumps(s))
        runs.append((model, metrics, summary))
    text = model_card.render("B", "double_encoders", [r[2] for r in runs],
                             [r[1] for r in runs], [r[0] for r in runs],
                             {"dreaddit": {"kind": "dreaddit", "source": "synthetic"},
                              "pirina": {"kind": "pirina", "source": "synthetic"}},
                             THRESHOLDS)
    assert "- seed 1: collapsed predictions on `depression`" in text
    assert "- seed 2: no task collapsed" in text
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in text.splitlines()
            if line.startswith("| ")]
    seeds = {(r[0], r[1]): r[-1] for r in rows}
    assert seeds[("depression", "f1")] == "1"  # one seed counted, the other left out
    assert seeds[("stress", "f1")] == "2"
    assert "Not a diagnostic tool" in text and "synthetic stand-in for Dreaddit" in text


@pytest.mark.slow
def test_a_saved_model_folder_of_the_workflow_is_a_hub_card(tmp_path):
    """The training job of a saved condition writes the card beside the weights."""
    wf = copy_workflow(tmp_path / "wf")
    run = "results/B/double_encoders/seed1"
    snakemake(wf, f"{run}/model", "--cores", "2", "--configfile", "tests/configs/tiny.yaml")
    meta = check_hub_card(wf / run / "model", wf / run / "metrics.json")
    assert "datasets" not in meta and "synthetic-data" in meta["tags"]
    info = json.loads((wf / run / "model" / "psymtl.json").read_text())
    assert {r["task"]["name"] for r in meta["model-index"][0]["results"]} <= set(info["tasks"])
