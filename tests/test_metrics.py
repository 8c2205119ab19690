"""Every metric against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from psymtl import metrics
from psymtl.kinds import KINDS

P = np.array([[0.5, 0.5, 0.0]])
Q = np.array([[0.25, 0.25, 0.5]])


def test_clark_by_hand():
    # terms: (0.25/0.75)^2 * 2 + (0.5/0.5)^2 = 2/9 + 1
    assert metrics.clark(P, Q)[0] == pytest.approx(math.sqrt(2 / 9 + 1))


def test_canberra_by_hand():
    assert metrics.canberra(P, Q)[0] == pytest.approx(0.25 / 0.75 * 2 + 1)


def test_cosine_intersection_chebyshev_by_hand():
    assert metrics.cosine(P, Q)[0] == pytest.approx(0.25 / (math.sqrt(0.5) * math.sqrt(0.375)))
    assert metrics.intersection(P, Q)[0] == pytest.approx(0.5)
    assert metrics.chebyshev(P, Q)[0] == pytest.approx(0.5)


def test_kl_and_js_by_hand():
    assert metrics.kl(P, Q)[0] == pytest.approx(2 * 0.5 * math.log(2))  # 0 * log(0/q) = 0
    m = (P + Q) / 2
    expected = (metrics.kl(P, m) + metrics.kl(Q, m)) / (2 * math.log(2))
    assert metrics.js(P, Q)[0] == pytest.approx(expected[0])
    assert metrics.js(P, P)[0] == pytest.approx(0.0)


def test_zero_conventions():
    z = np.array([[1.0, 0.0]])
    assert metrics.clark(z, z)[0] == 0.0 and metrics.canberra(z, z)[0] == 0.0


def test_identical_distributions_are_perfect():
    r = metrics.distribution(Q, Q)
    assert r["clark"] == 0 and r["canberra"] == 0 and r["kl"] == pytest.approx(0)
    assert r["cosine"] == pytest.approx(1) and r["intersection"] == pytest.approx(1)
    assert r["accuracy"] == 1


def test_mode_match_accepts_ties():
    target = np.array([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]])
    pred = np.array([[0.1, 0.8, 0.1], [0.8, 0.1, 0.1]])
    assert metrics.mode_match(target, pred).tolist() == [1.0, 0.0]


def test_classification_by_hand():
    y = np.array([1, 1, 0, 0, 1])
    prob = np.eye(2)[[1, 0, 0, 1, 1]]
    r = metrics.classification(y, prob)
    assert r["accuracy"] == pytest.approx(0.6)
    assert r["precision"] == pytest.approx(2 / 3) and r["recall"] == pytest.approx(2 / 3)
    assert r["f1"] == pytest.approx(2 / 3)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_classification_and_regression_equal_scikit_learn(k):
    """Our numpy metrics are scikit-learn's (the reference), absent classes included."""
    from sklearn import metrics as sk

    rng = np.random.default_rng(k)
    y = rng.integers(0, k - 1 if k > 2 else k, 200)  # with k > 2 the last class never occurs
    prob = rng.dirichlet(np.ones(k), 200)
    pred, labels = prob.argmax(-1), np.arange(k)
    binary = k == 2
    p, r, f, _ = sk.precision_recall_fscore_support(
        y, pred, labels=None if binary else labels, average="binary" if binary else "weighted",
        zero_division=0)
    ref = {"accuracy": sk.accuracy_score(y, pred), "precision": p, "recall": r, "f1": f,
           "f1_weighted": sk.f1_score(y, pred, labels=labels, average="weighted",
                                      zero_division=0),
           "f1_macro": sk.f1_score(y, pred, labels=labels, average="macro", zero_division=0)}
    ours = metrics.classification(y, prob)
    assert {m: ours[m] for m in ref} == pytest.approx(ref)
    yr, pr = rng.normal(size=50), rng.normal(size=50)
    assert metrics.regression(yr, pr)["r2"] == pytest.approx(sk.r2_score(yr, pr))
    assert metrics.regression(yr, pr)["mae"] == pytest.approx(sk.mean_absolute_error(yr, pr))


def test_regression_by_hand():
    r = metrics.regression(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
    assert r["mae"] == pytest.approx(1 / 3) and r["r2"] == pytest.approx(1 - 1 / 2)


@pytest.mark.parametrize("k", [2, 4])
def test_each_kinds_single_metric_equals_its_full_computation(k):
    rng = np.random.default_rng(k)
    y = rng.integers(0, k, 300)
    y[:3] = 0  # class 0 always present
    p = rng.dirichlet(np.ones(k), 300)
    full = KINDS["classification"].metrics(y, p)
    for m in ("accuracy", "precision", "recall", "f1", "f1_weighted", "f1_macro"):
        assert KINDS["classification"].metric(m, y, p) == pytest.approx(full[m]), m
    t = rng.dirichlet(np.ones(k), 300)
    full = KINDS["distribution"].metrics(t, p)
    for m in metrics.DISTRIBUTION:
        assert KINDS["distribution"].metric(m, t, p) == pytest.approx(full[m]), m
    onehot = np.eye(2)[rng.integers(0, 2, 50)]
    q = rng.dirichlet(np.ones(2), 50)
    assert KINDS["distribution"].metric("f1", onehot, q) == pytest.approx(
        KINDS["distribution"].metrics(onehot, q)["f1"])
    yr, pr = rng.normal(size=40), rng.normal(size=40)
    for m in ("r2", "mae"):
        assert KINDS["regression"].metric(m, yr, pr) == pytest.approx(
            KINDS["regression"].metrics(yr, pr)[m])
