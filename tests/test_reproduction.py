"""The real-data report's bf16 vs fp32 table, from run files written here."""

from __future__ import annotations

import json

import pytest

from psymtl import reproduction


def _run(root, setup, cond, seed, best, bf16):
    d = root / setup / "B" / cond / f"seed{seed}"
    d.mkdir(parents=True)
    (d / "metrics.json").write_text("{}")
    (d / "train_summary.json").write_text(json.dumps({"best": best, "bf16_autocast": bf16}))


def test_fp32_twins_beside_their_bf16_runs(tmp_path):
    for seed, best in ((1, 0.90), (2, 0.92), (3, 0.94)):
        _run(tmp_path, "main", "single_task", seed, best, True)
    _run(tmp_path, "fp32", "single_task", 1, 0.91, False)
    _run(tmp_path, "fp32", "transfer", 1, 0.80, False)  # no bf16 run of it: left out
    table = reproduction.precision(reproduction.runs(tmp_path))
    assert len(table) == 1
    r = table.iloc[0]
    assert (r["condition"], r["seed"], r["seeds"]) == ("single_task", 1, 3)
    assert r["bf16 - fp32"] == pytest.approx(-0.01)
    assert r["bf16 sd over seeds"] == pytest.approx(0.02)


def test_a_twin_that_ran_in_bf16_is_no_fp32_evidence(tmp_path):
    _run(tmp_path, "main", "single_task", 1, 0.90, True)
    _run(tmp_path, "fp32", "single_task", 1, 0.90, True)
    assert reproduction.precision(reproduction.runs(tmp_path)).empty


def test_the_report_tests_bf16_and_fp32_for_equivalence(tmp_path):
    """A 'no effect of precision' claim rests on a paired TOST, not on small differences."""
    from psymtl import stats

    for cond, bf16, fp32 in (("single_task", 0.90, 0.905), ("transfer", 0.80, 0.798),
                             ("double_encoders", 0.85, 0.851)):
        _run(tmp_path, "main", cond, 1, bf16, True)
        _run(tmp_path, "main", cond, 2, bf16 + 0.01, True)
        _run(tmp_path, "fp32", cond, 1, fp32, False)
    text = "".join(reproduction._precision(reproduction.runs(tmp_path), "main", {}, 0.02))
    p = stats.tost_seeds(reproduction.precision(reproduction.runs(tmp_path))[
        "bf16 - fp32"].to_numpy(), 0.02)
    assert "TOST" in text and f"p = {p:.4f}" in text and p < 0.05


def test_gap_factors_give_each_factors_effect_and_the_remaining_gap():
    import numpy as np
    import pandas as pd

    from psymtl import reproduction

    rows = []
    for cond, values in {"flat": [0.46, 0.47, 0.48], "flat~max_length=512": [0.55, 0.56, 0.57],
                         "flat~epochs=6": [0.50, 0.51, 0.99], "flat~max_length=256": [0.49],
                         "flat_uniform": [0.50, 0.50, 0.50], "hdln": [0.1, 0.2, 0.3]}.items():
        for seed, v in enumerate(values, 1):
            rows.append({"study": "C", "condition": cond, "seed": seed, "split": "test",
                         "task": "temporal", "metric": "accuracy", "value": v,
                         "collapsed": "temporal" if v == 0.99 else ""})
    long = pd.DataFrame(rows)
    comp = pd.DataFrame([{"study": "C", "condition": "flat", "task": "temporal",
                          "metric": "accuracy", "paper_mean": 0.60, "difference": -0.13}])
    controls = {"flat_uniform": {"of": "flat", "factor": "uniform weights"},
                "hdln": {"of": "other", "factor": "not a control of flat"}}
    out = reproduction.gap_factors(long, comp, controls).set_index("factor")
    assert len(out) == 4
    assert out.loc["max_length=256", "95% interval"] == "n/a (one seed)"
    assert out.loc["flat_uniform: uniform weights", "effect"] == pytest.approx(0.03)
    assert out.loc["max_length=512", "effect"] == pytest.approx(0.09)
    assert out.loc["max_length=512", "remaining gap"] == pytest.approx(-0.04)
    lo, hi = (float(x) for x in out.loc["max_length=512", "95% interval"].strip("[]").split(","))
    assert 0 < lo < 0.09 < hi
    # the collapsed seed of the epochs run is not counted
    assert out.loc["epochs=6", "seeds"] == "2 vs 3"
    assert out.loc["epochs=6", "effect"] == pytest.approx(np.mean([0.50, 0.51]) - 0.47)


def test_each_gap_gets_its_most_specific_note_or_unexplained():
    import pandas as pd

    from psymtl import reproduction

    comp = pd.DataFrame([
        {"study": "C", "condition": "flat", "task": "temporal", "metric": "accuracy",
         "ours_mean": 0.47, "paper_mean": 0.60, "difference": -0.13},
        {"study": "C", "condition": "hdln", "task": "temporal", "metric": "accuracy",
         "ours_mean": 0.45, "paper_mean": 0.50, "difference": -0.05},
        {"study": "B", "condition": "x", "task": "depression", "metric": "f1",
         "ours_mean": 0.80, "paper_mean": 0.90, "difference": -0.10},
        {"study": "C", "condition": "hdln", "task": "lonely", "metric": "f1",
         "ours_mean": 0.96, "paper_mean": 0.97, "difference": -0.01}])  # within 0.03: none
    notes = {"C/flat/*/*": "FLAT", "C/*/*/*": "ANY-C"}
    out = reproduction.gaps(comp, notes)
    assert len(out) == 3
    assert "flat / temporal / accuracy" in out[0] and out[0].endswith("FLAT")
    assert "hdln / temporal / accuracy" in out[1] and out[1].endswith("ANY-C")
    assert out[2].endswith("Unexplained.")


def test_runs_of_other_training_code_are_flagged(tmp_path):
    import json

    from psymtl import provenance, reproduction

    for seed, code in ((1, provenance.code_version()), (2, {"training_code": "0" * 16}),
                       (3, None)):
        d = tmp_path / "main" / "C" / "flat" / f"seed{seed}"
        d.mkdir(parents=True)
        (d / "metrics.json").write_text(json.dumps({"test": {}}))
        (d / "train_summary.json").write_text(json.dumps({"settings": {}} | (
            {"code": code} if code else {})))
    stale = reproduction.stale_runs(reproduction.runs(tmp_path))
    assert stale.to_dict("records") == [
        {"setup": "main", "study": "C", "condition": "flat", "training code": "other",
         "seeds": "2"},
        {"setup": "main", "study": "C", "condition": "flat", "training code": "unrecorded",
         "seeds": "3"}]
    code = provenance.code_version()
    assert len(code["training_code"]) == 16
    assert code["commit"] is None or len(code["commit"].removesuffix("+dirty")) == 40


def test_the_learned_weights_rate_is_the_one_that_learns_most_at_no_cost(tmp_path):
    import json

    import pandas as pd

    from psymtl import reproduction

    health_ok = {"test": {"temporal": {"n": 10, "top_class": 0, "top_share": 0.5,
                                       "gold_share_of_top": 0.4, "gold_top_share": 0.4,
                                       "classes_predicted": 3, "classes_gold": 3}}}
    health_bad = {"test": {"temporal": {**health_ok["test"]["temporal"], "top_share": 1.0,
                                        "classes_predicted": 1}}}
    # lr, seed, dev, final lonely weight (start 0.2), collapsed
    cases = [(3e-4, 1, 0.70, 0.21, False), (3e-4, 2, 0.72, 0.21, False),
             (1e-3, 1, 0.70, 0.30, False), (1e-3, 2, 0.71, 0.31, False),
             (3e-3, 1, 0.60, 0.50, False), (3e-3, 2, 0.62, 0.52, False),
             (1e-2, 1, 0.75, 0.80, True), (1e-2, 2, 0.74, 0.82, False)]
    # and a longer schedule at 1e-3 (setup main): shown beside the sweep, never chosen
    cases += [(1e-3, 1, 0.80, 0.60, False, 6), (1e-3, 2, 0.80, 0.60, False, 6)]
    for lr, seed, dev, w, bad, *epochs in cases:
        setup, cond = (("main", "hdln_learned~epochs=6") if epochs else
                       ("weights_lr", f"hdln_learned~weighting.lr={lr}"))
        d = tmp_path / setup / "C" / cond / f"seed{seed}"
        d.mkdir(parents=True)
        (d / "metrics.json").write_text(json.dumps({
            "test": {"temporal": {"intersection": dev - 0.1}},
            "health": health_bad if bad else health_ok}))
        (d / "train_summary.json").write_text(json.dumps({
            "settings": {"weighting": {"lr": lr}, "epochs": (epochs or [2])[0]},
            "best": dev}))
        pd.DataFrame({"step": [1, 50], "w_gamma_g/lonely": [0.2, w],
                      "w_gamma_l/lonely": [0.2, w], "w_lambda/global": [0.5, 0.5]}).to_csv(
            d / "train_log.csv", index=False)
    out = reproduction.weight_lr_choice(reproduction.runs(tmp_path), {})
    assert out["epochs"].tolist() == [2, 2, 6, 2, 2]
    longer = out[out["epochs"] == 6].iloc[0]
    assert longer["learns"] and not longer["chosen"]
    out = out[out["epochs"] == 2].set_index("weights lr")
    out.index = out.index.astype(float)
    assert out.loc[1e-2, "collapsed seeds"] == "1" and not out.loc[1e-2, "chosen"]
    assert not out.loc[3e-4, "learns"] and out.loc[1e-3, "learns"]
    # 1e-3's dev is within a seed sd of 3e-4's and its weights move more; 3e-3 costs dev
    assert out.loc[1e-3, "chosen"] and out["chosen"].sum() == 1


def test_collect_records_the_share_of_posts_each_input_length_cuts(tmp_path):
    import pandas as pd

    results = tmp_path / "results"
    (results / "tokens" / "pirina").mkdir(parents=True)
    # content lengths; 2 special tokens: 128 keeps 126 content tokens, 256 keeps 254
    lengths = [10, 126, 127, 200, 254, 255, 600, 20]
    pd.DataFrame({"id": [str(i) for i in range(8)], "ids": [[1]] * 8,
                  "n_tokens": lengths}).to_parquet(results / "tokens/pirina/minilm.parquet")
    (results / "tokens/pirina/minilm.json").write_text(json.dumps(
        {"encoder": "minilm", "max_length": 256, "rows": 8, "truncated": 2,
         "median_tokens": 163.5, "prefix": [101], "suffix": [102]}))
    reproduction.collect(results, tmp_path / "runs" / "main")
    out = reproduction.inputs(tmp_path / "runs", "main").iloc[0]
    assert (out["dataset"], out["posts"]) == ("pirina", 8)
    assert out["cut at 128"] == "62%"  # 127, 200, 254, 255, 600: 5 of 8
    assert out["cut at 256"] == "25%"  # 255, 600
    assert "cut at 512" not in out  # longer than the token cache holds


def test_each_claim_is_tested_again_where_both_systems_ran_the_same_gap_setting():
    comps = [{"study": "C", "a": "hdln", "b": "flat", "claim": "HDLN below flat"},
             {"study": "C", "a": "hdln", "b": "flat_uniform", "claim": "matched weighting"}]
    present = {("C", c) for c in ("hdln", "flat", "flat_uniform", "hdln~epochs=6",
                                  "flat~epochs=6", "hdln~max_length=512",
                                  "flat~max_length=256")}
    present.add(("B", "hdln~epochs=6"))  # another study's run of that name: no partner
    out = reproduction.swept_comparisons(comps, present)
    assert [(c["a"], c["b"]) for c in out] == [("hdln~epochs=6", "flat~epochs=6")]
    assert out[0]["claim"] == "HDLN below flat; both at epochs=6"
    assert comps[0]["a"] == "hdln"  # the declared comparison itself is left as it was


def test_every_gap_run_of_a_compared_system_shows_its_effect_on_the_claims_metric():
    import pandas as pd

    rows = []
    for cond, values in {"stacked": [0.90, 0.91, 0.89], "stacked~max_length=512": [0.93, 0.92],
                         "stacked~epochs=6": [0.88], "other~epochs=6": [0.5, 0.6]}.items():
        for seed, v in enumerate(values, 1):
            for task, metric in (("depression", "f1"), ("depression", "accuracy")):
                rows.append({"study": "B", "condition": cond, "seed": seed, "split": "test",
                             "task": task, "metric": metric, "value": v, "collapsed": ""})
    comps = [{"study": "B", "a": "de", "b": "stacked", "task": "depression", "metric": "f1"},
             {"study": "C", "a": "x", "b": "stacked", "task": "depression", "metric": "f1"}]
    out = reproduction.claim_metric_effects(pd.DataFrame(rows), comps, "B")
    # only the compared system's gap runs, only on the claim's metric; no gap to a paper needed
    assert out[["condition", "metric", "factor", "seeds"]].values.tolist() == [
        ["stacked", "f1", "epochs=6", "1 vs 3"], ["stacked", "f1", "max_length=512", "2 vs 3"]]
    longer = out.set_index("factor").loc["max_length=512"]
    assert longer["effect"] == pytest.approx(0.925 - 0.90)
    lo, hi = (float(x) for x in longer["95% interval"].strip("[]").split(","))
    assert lo < 0.025 < hi
    assert out.set_index("factor").loc["epochs=6", "95% interval"] == "n/a (one seed)"
