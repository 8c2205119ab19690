"""Merged settings: nested mappings merge key by key, compared systems differ only in what
they are about, and the settings command prints what a training job gets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from snakemake.utils import update_config

from psymtl import settings
from psymtl.config import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_merge_is_key_by_key_at_every_depth_as_snakemake_merges_configfiles():
    base = {"training": {"model_args": {"pooling": "mean", "dropout": 0.1}, "lr": 1.0},
            "seeds": [1, 2]}
    paper = {"training": {"model_args": {"pooling": "cls"}}, "seeds": [3]}
    merged = settings.merge(base, paper)
    assert merged == {"training": {"model_args": {"pooling": "cls", "dropout": 0.1}, "lr": 1.0},
                      "seeds": [3]}
    theirs = json.loads(json.dumps(base))
    update_config(theirs, paper)
    assert merged == theirs
    assert base["training"]["model_args"]["pooling"] == "mean"  # inputs are not changed


def test_paper_config_gives_every_study_b_and_c_condition_the_same_pooling():
    """Under the paper config a condition's model_args no longer drop the CLS pooling."""
    config = settings.load(["configs/paper.yaml"], ROOT)
    for study in ("B", "C"):
        for name in config["studies"][study]["conditions"]:
            cond = settings.condition(config, study, name)
            assert cond["model_args"]["pooling"] == "cls", (study, name)
            assert cond["model_args"]["dropout"] == 0.1
    assert settings.condition(config, "B", "attention_fusion")["model_args"]["fusion"] == \
        "attention"
    assert settings.condition(config, "C", "hdln")["encoder"] == "bert-base-cased"
    settings.check_comparisons(config)  # no confound in any declared comparison


@pytest.mark.parametrize("configfiles", [[], ["configs/paper.yaml"],
                                         ["configs/shared-data.yaml"],
                                         ["configs/shared-data.yaml", "configs/reproduction.yaml"]])
def test_shipped_configs_compare_only_what_they_declare(configfiles):
    config = settings.load(configfiles, ROOT)
    settings.check_comparisons(config)
    for comp in config["stats"]["comparisons"]:
        a = settings.condition(config, comp["study"], comp["a"])
        b = settings.condition(config, comp["study"], comp["b"])
        assert settings.differences(a, b), comp  # a comparison of identical systems is void


def test_a_confounded_comparison_is_named_with_its_keys():
    config = settings.load([], ROOT)
    config["studies"]["B"]["conditions"]["attention_fusion"]["model_args"]["pooling"] = "cls"
    with pytest.raises(ConfigError) as err:
        settings.check_comparisons(config)
    msg = str(err.value)
    assert "attention_fusion vs single_task_stacked" in msg
    assert "model_args.pooling: 'cls' vs 'mean'" in msg
    assert "attention_fusion vs concat_fusion" in msg


def test_settings_command_prints_the_merged_settings():
    out = subprocess.run([sys.executable, "-m", "psymtl", "settings", "--configfile",
                          "configs/paper.yaml", "B/double_encoders"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    cond = json.loads(out)
    assert cond["model"] == "double_encoder" and cond["encoder"] == "bert-base-uncased"
    assert cond["model_args"] == {"pooling": "cls", "dropout": 0.1, "fusion": "none"}
    assert cond["weighting"] == {"kind": "fixed", "weights": {"stress": 0.01}}
    assert cond["lr"] == 2e-5 and cond["select"] == {"task": "depression"}
    bad = subprocess.run([sys.executable, "-m", "psymtl", "settings", "B/nope"], cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "no condition B/nope" in bad.stderr


def test_a_swept_value_is_its_condition_with_one_setting_replaced():
    config = settings.load(["configs/paper.yaml"], ROOT)
    (sw,) = [s for s in settings.sweeps(config, "B") if s["condition"] == "double_encoders"]
    assert sw["setting"] == "weighting.weights.stress" and sw["own"] == 0.01
    # the configured value is the condition's own runs: never trained twice
    assert sw["runs"][1] == "double_encoders"
    assert sw["runs"][3] == "double_encoders~weighting.weights.stress=0.5"
    base = settings.condition(config, "B", "double_encoders")
    swept = settings.condition(config, "B", sw["runs"][3])
    assert settings.differences(base, swept) == {"weighting.weights.stress": (0.01, 0.5)}
    assert "sweep" not in base  # declaring or extending a sweep leaves the condition's runs
    names = settings.conditions(config, "B")
    assert names[:9] == list(config["studies"]["B"]["conditions"]) and len(names) == 13
    (kinds,) = settings.sweeps(config, "A")
    assert settings.condition(config, "A", kinds["runs"][1])["weighting"]["kind"] == "fixed"
    with pytest.raises(ConfigError, match=r"no value '0\.3'"):
        settings.condition(config, "B", "double_encoders~weighting.weights.stress=0.3")


def test_a_sweep_of_an_unknown_setting_stops_naming_it():
    config = settings.load([], ROOT)
    bad = settings.merge(config, {"studies": {"B": {"conditions": {"double_encoders": {
        "sweep": {"weighting.weights.stres": [0.1, 1.0]}}}}}})
    with pytest.raises(ConfigError, match=r"'weighting\.weights\.stres' is not a setting"):
        settings.check(bad)
    bad = settings.merge(config, {"training": {"sweep": {"lr": [0.1, 1.0]}}})
    with pytest.raises(ConfigError, match=r"training\.sweep: a sweep belongs to one condition"):
        settings.check(bad)


def test_a_job_builds_typed_run_settings_from_the_merged_ones():
    """The training job's entry turns a condition's settings (plain data, as `psymtl settings`
    prints them) into one typed object; the run reads its fields, not the dict."""
    from psymtl import datasets, experiment
    from psymtl.tasks import TaskSet

    config = settings.load([], ROOT)
    known = TaskSet(datasets.tasks(config["datasets"]))
    cond = settings.condition(config, "B", "transfer")
    rs = experiment.RunSettings.from_settings(cond, 3, known, encoder_path="results/mlm/x")
    assert [t.name for t in rs.tasks] == ["depression"]
    assert [t.name for t in rs.pretrain_tasks] == ["stress"]
    assert rs.tasks[0] is known["depression"] and rs.known is known
    assert rs.seed == rs.trainer.seed == 3 and rs.trainer.epochs == cond["epochs"]
    assert rs.trainer.lr == cond["lr"] and rs.trainer.mixing == cond["mixing"]
    assert rs.select == experiment.Selection(task="depression")
    assert rs.model == cond["model"] and dict(rs.model_args) == cond["model_args"]
    assert rs.encoder == cond["encoder"] and rs.encoder_path == "results/mlm/x"
    # what train_summary.json records and a checkpoint must match: the settings, the
    # adapted encoder's folder, then the seed, in that order
    assert list(rs.identity()) == [*cond, "encoder_path", "seed"]
    assert rs.identity() == {**cond, "encoder_path": "results/mlm/x", "seed": 3}
    aug = experiment.RunSettings.from_settings(
        settings.condition(config, "A", "soft_augmented"), 1, known)
    assert aug.augment == ("speaker_role", "cancer_type") and aug.pretrain_tasks == ()
    assert aug.select == experiment.Selection(task="all") and "encoder_path" not in aug.identity()
    with pytest.raises(KeyError, match=r"unknown task 'nope'; known: \['burden'"):
        experiment.RunSettings.from_settings({**cond, "tasks": ["nope"]}, 1, known)


def test_tasks_are_passed_not_registered():
    """No module keeps a registry of tasks that a job fills and code far away reads."""
    from psymtl import tasks
    from psymtl.kinds import KINDS

    state = [k for k, v in vars(tasks).items()
             if isinstance(v, (dict, list, set)) and not k.startswith("__") and v is not KINDS]
    assert state == [], state
    specs = {"mood": {"name": "mood", "kind": "classification", "dataset": "mine",
                      "column": "label", "classes": ["neg", "pos"], "peers": []}}
    known = tasks.TaskSet.from_specs(specs)
    assert known["mood"] == tasks.Task("mood", KINDS["classification"], "mine", "label",
                                       ("neg", "pos"))
    assert {n: tasks.spec(t) for n, t in known.items()} == specs
    with pytest.raises(KeyError, match=r"unknown task 'stress'; known: \['mood'\]"):
        known["stress"]


def test_a_selected_task_outside_the_condition_stops_naming_it():
    config = settings.load([], ROOT)
    bad = settings.merge(config, {"studies": {"B": {"conditions": {"single_task_stress": {
        "select": {"task": "depression"}}}}}})
    with pytest.raises(ConfigError, match=r"studies\.B\.conditions\.single_task_stress\.select"
                                          r"\.task: 'depression' is not one of the condition's"):
        settings.check(bad)


def test_a_condition_may_train_on_fewer_tokens_than_the_cache_never_more():
    import numpy as np
    import pandas as pd

    from psymtl import experiment

    layout = {"prefix": [101], "suffix": [102], "pad_id": 0, "max_length": 512}
    df = pd.DataFrame({"id": ["a", "b"], "ids": [np.arange(510), np.arange(20)]})
    short, lay = experiment.shorten(df, layout, 128)
    assert lay["max_length"] == 128 and [len(x) for x in short["ids"]] == [126, 20]
    assert (short["ids"][0] == np.arange(126)).all()  # the post's start is kept
    assert experiment.shorten(df, layout, None)[0] is df
    with pytest.raises(ValueError, match="longer than the token cache"):
        experiment.shorten(df, layout, 1024)
    config = settings.load([], ROOT)
    update_config(config, {"studies": {"C": {"conditions": {"flat": {
        "sweep": {"max_length": [256, 512]}}}}}})
    with pytest.raises(ConfigError, match=r"conditions\.flat\.max_length: 512 tokens, longer "
                                          r"than the token cache \(tokenize\.max_length: 128\)"):
        settings.check(config)
    update_config(config, {"tokenize": {"max_length": 512}})
    settings.check(config)
