"""Significance tests against known cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from psymtl import stats

SETTINGS = {"alpha": 0.05, "aso_tau": 0.2, "correction": "holm",
            "bootstrap": {"samples": 300, "seed": 1}, "min_seeds": {"aso": 3, "wilcoxon": 6}}


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


def test_mcnemar_by_hand():
    y = np.array([1] * 10)
    a = [np.eye(2)[[1] * 10]]  # all correct
    b = [np.eye(2)[[0] * 10]]  # all wrong: 10 discordant pairs, all for A
    assert stats.mcnemar(y, a, b) == pytest.approx(2 * 0.5**10)
    assert stats.mcnemar(y, a, a) == 1.0


def frames(probs_per_seed, y, task="depression"):
    out = []
    for p in probs_per_seed:
        out.append(pd.DataFrame({"id": [f"x{i}" for i in range(len(y))], "split": "test",
                                 f"{task}__present": True, f"{task}__target": y,
                                 f"{task}__pred": list(p)}))
    return out


def test_bootstrap_identical_and_clearly_different_systems():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    good = [np.eye(2)[np.where(rng.random(200) < 0.9, y, 1 - y)] for _ in range(2)]
    bad = [np.eye(2)[np.where(rng.random(200) < 0.55, y, 1 - y)] for _ in range(2)]
    same = stats.paired_bootstrap("classification", "f1", y, good, good, 300, 1)
    assert same["diff"] == 0 and same["p_bootstrap"] == 1.0
    diff = stats.paired_bootstrap("classification", "f1", y, good, bad, 300, 1)
    assert diff["diff"] > 0.2 and diff["ci_low"] > 0 and diff["p_bootstrap"] < 0.01


def test_compare_notes_too_few_seeds_and_gives_verdict():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 100)
    pa = [np.eye(2)[y] * 0.9 + 0.05 for _ in range(2)]
    pb = [np.eye(2)[1 - y] * 0.9 + 0.05 for _ in range(2)]
    comp = {"study": "B", "a": "x", "b": "y", "task": "depression", "metric": "f1",
            "paper": 0.01}
    row = stats.compare(comp, {"x": {1: 1.0, 2: 1.0}, "y": {1: 0.0, 2: 0.0}},
                        {"x": frames(pa, y), "y": frames(pb, y)}, SETTINGS)
    assert np.isnan(row["p_wilcoxon"]) and np.isnan(row["aso_eps_min"])
    assert "Wilcoxon needs" in row["note"] and "ASO needs" in row["note"]
    assert row["p_bootstrap"] < 0.01 and row["p_mcnemar"] < 0.01
    table = stats.correct(pd.DataFrame([row]), "holm")
    assert stats.verdict(table.iloc[0], 0.05, 0.2).startswith("same direction, significant")


def test_constant_targets_give_a_note_not_a_crash():
    """R2 of a constant target is undefined on every resample: NaNs and a note say so."""
    y = np.full(50, 5.5)
    rng = np.random.default_rng(2)
    pa, pb = [rng.normal(5, 1, 50) for _ in range(2)], [rng.normal(5, 1, 50) for _ in range(2)]
    comp = {"study": "A", "a": "x", "b": "y", "task": "burden", "metric": "r2"}
    row = stats.compare(comp, {"x": {1: 0.1, 2: 0.2}, "y": {1: 0.0, 2: 0.1}},
                        {"x": frames(pa, y, "burden"), "y": frames(pb, y, "burden")}, SETTINGS)
    assert np.isnan(row["p_bootstrap"]) and np.isnan(row["ci_low"])
    assert "r2 is undefined on the test set" in row["note"]
