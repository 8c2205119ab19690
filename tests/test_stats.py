"""Significance tests against known cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from psymtl import datasets, stats
from psymtl.kinds import KINDS

SETTINGS = {"alpha": 0.05, "aso_tau": 0.2, "correction": "holm", "family": "study",
            "equivalence_margin": 0.02, "bootstrap": {"samples": 300, "seed": 1},
            "min_seeds": {"aso": 3, "wilcoxon": 6}}
TASKS = datasets.tasks({name: {} for name in ("cancer", "dreaddit", "pirina", "fig_loneliness")})


def test_holm_and_bh_by_hand():
    p = [0.01, 0.04, 0.03, np.nan]
    assert stats.holm(p)[:3] == pytest.approx([0.03, 0.06, 0.06])
    assert np.isnan(stats.holm(p)[3])
    assert stats.benjamini_hochberg([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.04, 0.04])


def test_wilcoxon_needs_enough_seeds():
    p, note = stats.wilcoxon(np.array([0.8, 0.9]), np.array([0.7, 0.6]), min_n=6)
    assert np.isnan(p) and "needs >= 6 paired seeds, have 2" in note
    p, _ = stats.wilcoxon(np.arange(6) + 10.0, np.arange(6) * 1.0, min_n=6)
    assert p == pytest.approx(2 / 64)  # exact two-sided, all six differences positive


def test_aso_clear_and_identical_cases():
    a = np.array([0.90, 0.91, 0.92, 0.93, 0.90])
    b = a - 0.2
    eps, note = stats.aso(a, b, 0.05, 3, seed=1)
    assert eps < 0.2 and not note
    eps_rev, _ = stats.aso(b, a, 0.05, 3, seed=1)
    assert eps_rev > 0.8
    eps, note = stats.aso(a[:2], b[:2], 0.05, 3, seed=1)
    assert np.isnan(eps) and "ASO needs >= 3 seeds" in note


@pytest.mark.parametrize("n_a, n_b, b_is, comparisons", [
    (5, 5, "other", 1), (3, 7, "other", 4), (6, 4, "a's first scores", 2), (4, 4, "a", 1)])
@pytest.mark.filterwarnings("ignore:Division by zero")  # deepsig, on identical systems
def test_aso_equals_deepsig_bit_for_bit(n_a, n_b, b_is, comparisons):
    from deepsig import aso as deepsig_aso

    rng = np.random.default_rng(n_a * 10 + n_b)
    a = rng.normal(0.70, 0.03, n_a).round(2)
    b = {"other": rng.normal(0.69, 0.03, n_b).round(2), "a's first scores": a[:n_b],
         "a": a.copy()}[b_is]  # "a": identical systems, deepsig's 0.5 for a zero distance
    for x, y in ((a, b), (b, a)):
        ref = deepsig_aso(x, y, confidence_level=0.95, num_comparisons=comparisons,
                          num_bootstrap_iterations=100, seed=7, show_progress=False)
        ours, _ = stats.aso(x, y, 0.05, 3, seed=7, num_comparisons=comparisons,
                            iterations=100)
        assert ours == float(ref)


def test_mcnemar_by_hand():
    y = np.array([1] * 10)
    a = [np.eye(2)[[1] * 10]]  # all correct
    b = [np.eye(2)[[0] * 10]]  # all wrong: 10 discordant pairs, all for A
    assert stats.mcnemar(y, a, b) == pytest.approx(2 * 0.5**10)
    assert stats.mcnemar(y, a, a) == 1.0


def frames(probs_per_seed, y, task="depression"):
    """Per-seed prediction frames (seeds 1, 2, ...)."""
    out = {}
    for s, p in enumerate(probs_per_seed, 1):
        out[s] = pd.DataFrame({"id": [f"x{i}" for i in range(len(y))], "split": "test",
                               f"{task}__present": True,
                               f"{task}__target": list(y) if y.ndim > 1 else y,
                               f"{task}__pred": list(p)})
    return out


def test_bootstrap_identical_and_clearly_different_systems():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    good = [np.eye(2)[np.where(rng.random(200) < 0.9, y, 1 - y)] for _ in range(2)]
    bad = [np.eye(2)[np.where(rng.random(200) < 0.55, y, 1 - y)] for _ in range(2)]
    same = stats.paired_bootstrap(KINDS["classification"], "f1", y, good, good, 300, 1)
    assert same["diff"] == 0 and same["p_bootstrap"] == 1.0
    diff = stats.paired_bootstrap(KINDS["classification"], "f1", y, good, bad, 300, 1)
    assert diff["diff"] > 0.2 and diff["ci_low"] > 0 and diff["p_bootstrap"] < 0.01


def test_compare_notes_too_few_seeds_and_gives_verdict():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 100)
    pa = [np.eye(2)[y] * 0.9 + 0.05 for _ in range(2)]
    pb = [np.eye(2)[1 - y] * 0.9 + 0.05 for _ in range(2)]
    comp = {"study": "B", "a": "x", "b": "y", "task": "depression", "metric": "f1",
            "expect": "a_better", "paper": 0.01}
    row = stats.compare(comp, {"x": frames(pa, y), "y": frames(pb, y)}, SETTINGS,
                        task=TASKS[comp["task"]])
    assert np.isnan(row["p_wilcoxon"]) and np.isnan(row["aso_eps_min"])
    assert "Wilcoxon needs" in row["note"] and "ASO needs" in row["note"]
    assert row["p_bootstrap"] < 0.01 and row["p_mcnemar"] < 0.01
    table = stats.correct(pd.DataFrame([row]), "holm")
    # the test posts alone are not enough: seed variance is unknown with 2 seeds
    assert stats.verdict(table.iloc[0], 0.05, 0.2).startswith(
        "same direction, not significant (paired bootstrap over posts: yes; none over seeds: "
        "too few seeds)")


def seeded(y, accuracies, seed=0):
    """Per-seed probabilities that get a fraction ``acc`` of ``y`` right, and the F1s."""
    rng = np.random.default_rng(seed)
    probs, scores = [], {}
    for s, acc in enumerate(accuracies, 1):
        right = rng.random(len(y)) < acc
        p = np.eye(2)[np.where(right, y, 1 - y)] * 0.8 + 0.1
        probs.append(p)
        scores[s] = KINDS["classification"].metric("f1", y, p)
    return probs, scores


def run(comp, a, b, y, settings=SETTINGS, family=1):
    (pa, _), (pb, _) = a, b
    row = stats.compare(comp, {"x": frames(pa, y, comp["task"]),
                               "y": frames(pb, y, comp["task"])}, settings, family,
                        task=TASKS[comp["task"]])
    table = stats.correct(pd.DataFrame([row]), "holm")
    return table.iloc[0], stats.verdict(table.iloc[0], 0.05, 0.2)


def test_verdict_needs_the_seed_level_evidence_too():
    y = np.random.default_rng(3).integers(0, 2, 400)
    comp = {"study": "B", "a": "x", "b": "y", "task": "depression", "metric": "f1",
            "expect": "a_better"}
    clear = run(comp, seeded(y, [0.9] * 6, 1), seeded(y, [0.7] * 6, 2), y)[1]
    assert clear.startswith("reproduced: significant (paired bootstrap over posts: yes; "
                            "Wilcoxon over seeds: yes)")
    # seeds that disagree: a is better on average and over the pooled posts, not per seed
    noisy = run(comp, seeded(y, [0.95, 0.6, 0.95, 0.6, 0.95, 0.6], 1),
                seeded(y, [0.7] * 6, 2), y)
    assert noisy[0]["p_post_adj"] < 0.05
    assert noisy[1].startswith("same direction, not significant")


def test_lower_is_better_compares_ours_and_the_papers_difference_alike():
    """KL: lower is better. The paper's a - b (-0.05: a better) and ours are both raw."""
    rng = np.random.default_rng(4)
    y = rng.dirichlet(np.ones(4), 300)
    good = [0.8 * y + 0.2 * rng.dirichlet(np.ones(4), 300) for _ in range(6)]
    bad = [0.3 * y + 0.7 * rng.dirichlet(np.ones(4), 300) for _ in range(6)]
    score = {s + 1: KINDS["distribution"].metric("kl", y, p) for s, p in
             enumerate(good)}, {s + 1: KINDS["distribution"].metric("kl", y, p)
                                for s, p in enumerate(bad)}
    comp = {"study": "C", "a": "x", "b": "y", "task": "temporal", "metric": "kl",
            "expect": "a_better", "paper": -0.05}
    row, text = run(comp, (good, score[0]), (bad, score[1]), y)
    assert row["mean_diff"] < 0 and stats.better("kl", row["mean_diff"]) > 0
    assert text.startswith("reproduced: significant")
    _, text = run(comp | {"expect": "b_better", "paper": 0.05}, (good, score[0]),
                        (bad, score[1]), y)
    assert text.startswith("contradicted: significant in the opposite direction")


def test_no_effect_needs_an_equivalence_test_not_a_large_p():
    y = np.random.default_rng(5).integers(0, 2, 2000)
    comp = {"study": "A", "a": "x", "b": "y", "task": "depression", "metric": "f1",
            "expect": "equivalent", "margin": 0.05}
    same = seeded(y, [0.8] * 6, 1)
    twin = ([p.copy() for p in same[0]], {k: v + 0.001 * (-1) ** k for k, v in same[1].items()})
    row, text = run(comp, same, twin, y)
    assert text.startswith("reproduced: equivalent within ±0.05 (bootstrap TOST")
    # few posts, noisy seeds: not significant, but not shown equivalent either
    small = y[:40]
    a, b = seeded(small, [0.9, 0.6, 0.85, 0.65], 6), seeded(small, [0.7, 0.8, 0.6, 0.75], 7)
    row, text = run(comp, a, b, small)
    assert row["p_bootstrap"] > 0.05 and text.startswith("not shown equivalent")


def test_systems_are_aligned_by_post_id_when_some_posts_failed():
    """Soft-label runs lose posts whose annotation failed; hard-label runs keep them."""
    y = np.random.default_rng(6).integers(0, 2, 100)
    (pa, _), (pb, _) = seeded(y, [0.9] * 3, 1), seeded(y, [0.7] * 3, 2)
    fa = {s: f.iloc[5:] for s, f in frames(pa, y).items()}  # 5 posts missing from a's runs
    comp = {"study": "A", "a": "x", "b": "y", "task": "depression", "metric": "f1",
            "expect": "a_better"}
    row = stats.compare(comp, {"x": fa, "y": frames(pb, y)}, SETTINGS,
                        task=TASKS[comp["task"]])
    assert row["posts"] == 95 and row["posts_dropped"] == 5
    assert "5 test posts missing from some run" in row["note"]


def test_paper_config_seeds_can_reach_significance_within_each_family():
    from pathlib import Path

    from psymtl import settings

    config = settings.load(["configs/paper.yaml"], Path(__file__).resolve().parents[1])
    st = config["stats"]
    assert st["family"] == "study"
    n = len(config["seeds"])
    for study in {c["study"] for c in st["comparisons"]}:
        m = sum(c["study"] == study for c in st["comparisons"])
        assert stats.wilcoxon_reachable(n, m, st["alpha"]), (study, n, m)
    assert not stats.wilcoxon_reachable(6, 5, 0.05)  # the old 6 seeds could not


def test_constant_targets_give_a_note_not_a_crash():
    """R2 of a constant target is undefined on every resample: NaNs and a note say so."""
    y = np.full(50, 5.5)
    rng = np.random.default_rng(2)
    pa, pb = [rng.normal(5, 1, 50) for _ in range(2)], [rng.normal(5, 1, 50) for _ in range(2)]
    comp = {"study": "A", "a": "x", "b": "y", "task": "burden", "metric": "r2",
            "expect": "a_better"}
    row = stats.compare(comp, {"x": frames(pa, y, "burden"), "y": frames(pb, y, "burden")},
                        SETTINGS,
                        task=TASKS[comp["task"]])
    assert np.isnan(row["p_bootstrap"]) and np.isnan(row["ci_low"])
    assert "r2 is undefined on the test set" in row["note"]


def test_seed_scores_and_direction_come_from_the_aligned_posts():
    """a is right on the posts b lacks and wrong elsewhere: on its own posts a looks better,
    on the shared posts it is worse, and the verdict's direction is the shared posts'."""
    rng = np.random.default_rng(8)
    y = rng.integers(0, 2, 300)
    right = np.eye(2)[y] * 0.8 + 0.1
    wrong = np.eye(2)[1 - y] * 0.8 + 0.1
    pa = [np.where((np.arange(300) < 150)[:, None], right, wrong) for _ in range(3)]
    pa = [np.where((rng.random(300) < 0.35)[:, None], right, p) for p in pa]
    pb = [np.where((rng.random(300) < 0.8)[:, None], right, wrong) for _ in range(3)]
    fb = {s: f.iloc[150:] for s, f in frames(pb, y).items()}  # b scored only posts 150..
    comp = {"study": "B", "a": "x", "b": "y", "task": "depression", "metric": "f1",
            "expect": "a_better"}
    own_a = np.mean([KINDS["classification"].metric("f1", y, p) for p in pa])
    own_b = np.mean([KINDS["classification"].metric("f1", y[150:], p[150:]) for p in pb])
    assert own_a < own_b  # sanity of the construction on each run's own posts
    row = stats.compare(comp, {"x": frames(pa, y), "y": fb}, SETTINGS, task=TASKS["depression"])
    assert row["posts"] == 150 and row["mean_diff"] < 0
    assert row["mean_a"] == pytest.approx(np.mean(
        [KINDS["classification"].metric("f1", y[150:], p[150:]) for p in pa]))
    # ASO in both directions: b is clearly better, so eps(b > a) is small, eps(a > b) large
    assert row["aso_eps_b_better"] < 0.2 < row["aso_eps_a_better"]
    assert row["aso_eps_min"] == row["aso_eps_b_better"]


def toy_run(tmp_path, name, probs, y, task="depression"):
    """A run's files as the train job writes them: predictions, metrics (with the collapse
    guard's measurements) and a train summary."""
    from psymtl import evaluation
    from psymtl.io import write_json

    d = tmp_path / name
    d.mkdir(parents=True)
    frame = frames([probs], y, task)[1]
    frame.to_parquet(d / "predictions.parquet")
    write_json(evaluation.evaluate(frame, TASKS), d / "metrics.json")
    write_json({"steps": 100}, d / "train_summary.json")
    return {"metrics": str(d / "metrics.json"), "predictions": str(d / "predictions.parquet"),
            "summary": str(d / "train_summary.json")}


def test_a_claim_with_a_collapsed_run_is_never_counted(tmp_path):
    from psymtl import health, tables

    rng = np.random.default_rng(9)
    y = (rng.random(400) < 0.3).astype(int)  # 30% positive
    healthy = lambda acc: np.eye(2)[np.where(rng.random(400) < acc, y, 1 - y)] * 0.8 + 0.1  # noqa: E731
    collapsed = np.tile([0.9, 0.1], (400, 1))  # class 0 for every post
    runs = []
    for seed in (1, 2, 3):
        runs.append({"study": "B", "condition": "x", "seed": seed,
                     **toy_run(tmp_path, f"x{seed}", collapsed if seed == 2 else healthy(0.9),
                               y)})
        runs.append({"study": "B", "condition": "y", "seed": seed,
                     **toy_run(tmp_path, f"y{seed}", healthy(0.6), y)})
    assert health.judge(evaluation_of(runs[2]), {}) == ["depression"]
    assert health.judge(evaluation_of(runs[0]), {}) == []
    assert health.judge(evaluation_of(runs[1]), {}) == []
    comp = {"study": "B", "a": "x", "b": "y", "task": "depression", "metric": "f1",
            "expect": "a_better", "about": ["tasks"]}
    out = stats.table([comp], runs, SETTINGS, {}, TASKS).iloc[0]
    assert out["seeds_a"] == 2 and out["collapsed"] == "x seed 2"
    assert out["verdict"].startswith("not counted: collapsed run(s) x seed 2; the healthy runs:")
    assert "reproduced" not in out["verdict"]
    summary = tables.summarise(tables.collect(runs, {}))
    f1 = summary[(summary["condition"] == "x") & (summary["metric"] == "f1")].iloc[0]
    assert f1["n_seeds"] == 2 and f1["collapsed_seeds"] == "2"
    # without the collapsed seed the same claim is counted
    healthy_only = [r for r in runs if not (r["condition"] == "x" and r["seed"] == 2)]
    assert stats.table([comp], healthy_only, SETTINGS, {}, TASKS).iloc[0]["verdict"].startswith(
        "same direction")


def evaluation_of(run):
    from psymtl.io import read_json

    return read_json(run["metrics"])


def test_collapse_thresholds_and_regression():
    from psymtl import health

    y = np.array([0] * 60 + [1] * 40)
    near = np.eye(2)[np.array([0] * 96 + [1] * 4)]
    m = health.measure(y, near)
    assert m["top_share"] == 0.96 and m["gold_share_of_top"] == 0.6
    assert health.collapsed(m, {})  # 96% predicted class 0, gold 60%
    assert not health.collapsed(m, {"max_class_share": 0.97})
    # a task whose gold majority is itself 96% is not collapsed by predicting it 96% of the time
    skew = health.measure(np.array([0] * 96 + [1] * 4), near)
    assert not health.collapsed(skew, {})
    # one class only while the gold has two is collapsed whatever the shares
    assert health.collapsed(health.measure(np.array([0] * 99 + [1]), np.eye(2)[[0] * 100]), {})
    target = np.linspace(0, 10, 100)
    assert health.collapsed(health.measure(target, np.full(100, 5.0) + 0.01 * target), {})
    assert not health.collapsed(health.measure(target, 0.8 * target), {})


def test_training_length_is_visible_to_the_comparison():
    comp = {"study": "B", "a": "x", "b": "y", "about": ["tasks"]}
    assert stats.training_length(comp, {"x": [342, 342], "y": [60, 60]}).startswith(
        "confounded by training length: x 342 optimizer steps, y 60")
    assert stats.training_length(comp | {"about": ["tasks", "epochs"]},
                                 {"x": [342], "y": [330]}) == ""
    # more epochs to match steps, cut short by early stopping: still a confound
    assert stats.training_length(comp | {"about": ["epochs"]},
                                 {"x": [342], "y": [120]}).startswith("confounded")
    assert stats.training_length(comp | {"length": "about"},
                                 {"x": [342], "y": [60]}).startswith("declared")
    assert stats.training_length(comp, {"x": [], "y": [60]}) == ""


def test_learned_weights_that_did_not_move_leave_the_claim_untested(tmp_path):
    from psymtl.io import write_json

    rng = np.random.default_rng(4)
    y = (rng.random(300) < 0.4).astype(int)
    runs = []
    for seed in (1, 2, 3):
        for cond, acc in (("learned", 0.9), ("uniform", 0.7)):
            probs = np.eye(2)[np.where(rng.random(300) < acc, y, 1 - y)] * 0.8 + 0.1
            run = toy_run(tmp_path, f"{cond}{seed}", probs, y)
            if cond == "learned":  # weights logged per step, moving by 0.01 in all
                write_json({"steps": 100, "loss_weights_lr": 1e-3}, run["summary"])
                pd.DataFrame({"step": [1, 2], "w_a": [0.5, 0.51], "w_b": [0.5, 0.49]}).to_csv(
                    tmp_path / f"{cond}{seed}" / "train_log.csv", index=False)
            runs.append({"study": "C", "condition": cond, "seed": seed, **run})
    comp = {"study": "C", "a": "learned", "b": "uniform", "task": "depression",
            "metric": "f1", "expect": "a_better", "about": ["weighting"]}
    out = stats.table([comp], runs, SETTINGS, {}, TASKS).iloc[0]
    assert out["weights"] == "learned's learned weights did not move (drift 0.010 < 0.05)"
    assert out["verdict"].startswith("not counted: learned's learned weights did not move")
    # a comparison about something else is not judged on its weights
    other = stats.table([comp | {"about": ["tasks"]}], runs, SETTINGS, {}, TASKS).iloc[0]
    assert other["weights"] == "" and not other["verdict"].startswith("not counted")
    assert stats.weight_drift(pd.DataFrame({"w_a": [0.2, 0.5, 0.3], "x": [0, 9, 9]})) == \
        pytest.approx(0.1)


def test_a_verdict_not_counted_names_every_reason():
    row = pd.Series({"collapsed": "a seed 2", "training_length": "", "expect": "a_better",
                     "weights": "a's learned weights did not move (drift 0.010 < 0.05)",
                     "seed_test": "none", "p_post_adj": 0.5, "p_seed_adj": np.nan, "metric": "f1",
                     "post_test": "paired bootstrap",
                     "mean_diff": 0.01, "aso_eps_min": np.nan})
    out = stats.verdict(row, 0.05, 0.2)
    assert out.startswith("not counted: collapsed run(s) a seed 2; a's learned weights did "
                          "not move (drift 0.010 < 0.05); the healthy runs: ")
