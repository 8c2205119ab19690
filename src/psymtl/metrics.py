"""Metrics for classification, regression and label distributions.

Distribution metrics follow Geng (2016), as in the FIG-Loneliness paper's Table 2, computed
per example and averaged. Zero conventions: in Clark and Canberra a term with
``P_k + Q_k = 0`` is 0 (0/0 := 0); in KL a term with ``P_k = 0`` is 0 and ``Q`` is clamped
at ``EPS = 1e-12``; JS uses base-2 logs (bounded by 1).
"""

from __future__ import annotations

import numpy as np

EPS = 1e-12


CLASSIFICATION = ("accuracy", "precision", "recall", "f1", "f1_weighted", "f1_macro")


def classification(y: np.ndarray, prob: np.ndarray) -> dict[str, float]:
    """Accuracy, P/R/F1 (positive class when binary, support-weighted otherwise), weighted
    and macro F1, from the confusion matrix (as scikit-learn computes them with
    ``zero_division=0``; tests/test_metrics.py checks it)."""
    return _classification(y, prob) | {"n": len(y)}


def regression(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """R2 (NaN where fewer than two targets or all targets equal) and MAE."""
    return {m: regression_single(m, y, pred) for m in ("r2", "mae")} | {"n": len(y)}


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num, dtype=float), where=den > 0)


def clark(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return np.sqrt(_ratio((p - q) ** 2, (p + q) ** 2).sum(-1))


def canberra(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return _ratio(np.abs(p - q), p + q).sum(-1)


def cosine(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return (p * q).sum(-1) / np.maximum(np.linalg.norm(p, axis=-1) * np.linalg.norm(q, axis=-1),
                                        EPS)


def intersection(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return np.minimum(p, q).sum(-1)


def chebyshev(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return np.abs(p - q).max(-1)


def kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return np.where(p > 0, p * (np.log(np.maximum(p, EPS)) - np.log(np.maximum(q, EPS))),
                    0.0).sum(-1)


def js(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    m = (p + q) / 2
    return (kl(p, m) + kl(q, m)) / (2 * np.log(2))


def mode_match(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """1 where the prediction's argmax is among the target's (tied) argmaxes."""
    top = p == p.max(-1, keepdims=True)
    return top[np.arange(len(q)), q.argmax(-1)].astype(float)


DISTRIBUTION = {"accuracy": mode_match, "clark": clark, "canberra": canberra, "cosine": cosine,
                "intersection": intersection, "chebyshev": chebyshev, "kl": kl, "js": js}
LOWER_IS_BETTER = {"clark", "canberra", "chebyshev", "kl", "js", "mae"}


def distribution(p: np.ndarray, q: np.ndarray) -> dict[str, float]:
    """Mean of each distribution metric over examples (targets ``p``, predictions ``q``)."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    return {name: float(fn(p, q).mean()) for name, fn in DISTRIBUTION.items()} | {"n": len(p)}


def distribution_with_decisions(p: np.ndarray, q: np.ndarray) -> dict[str, float]:
    """Distribution metrics; two-class distributions whose targets are one-hot (FIG's
    lonely / non-lonely) also get the binary classification metrics."""
    res = distribution(p, q)
    if p.shape[-1] == 2 and np.isin(p, (0, 1)).all():
        res |= classification(p.argmax(-1), q)
    return res


def regression_single(metric: str, target: np.ndarray, pred: np.ndarray) -> float:
    """R2 or MAE."""
    target, pred = np.asarray(target, float), np.asarray(pred, float)
    if metric == "mae":
        return float(np.abs(target - pred).mean())
    ss = ((target - target.mean()) ** 2).sum()
    return float(1 - ((target - pred) ** 2).sum() / ss) if len(target) > 1 and ss > 0 \
        else float("nan")


def distribution_single(metric: str, target: np.ndarray, pred: np.ndarray) -> float:
    """One metric of ``distribution_with_decisions``."""
    if metric in DISTRIBUTION:
        return float(DISTRIBUTION[metric](np.asarray(target, float), np.asarray(pred, float))
                     .mean())
    return classification_single(metric, target.argmax(-1), pred)


def classification_single(metric: str, y: np.ndarray, pred: np.ndarray) -> float:
    """One metric of ``classification``."""
    return _classification(y, pred)[metric]


def _classification(y: np.ndarray, prob: np.ndarray) -> dict[str, float]:
    k = prob.shape[-1]
    y = np.asarray(y, dtype=np.int64)
    cm = np.bincount(y * k + prob.argmax(-1), minlength=k * k).reshape(k, k)
    tp, support, predicted = np.diag(cm), cm.sum(1), cm.sum(0)
    prec = _ratio(tp.astype(float), predicted.astype(float))
    rec = _ratio(tp.astype(float), support.astype(float))
    f1 = _ratio(2 * prec * rec, prec + rec)
    n = max(len(y), 1)
    values = {"accuracy": tp.sum() / n, "f1_weighted": (f1 * support).sum() / n,
              "f1_macro": f1.mean()}
    if k == 2:
        values |= {"precision": prec[1], "recall": rec[1], "f1": f1[1]}
    else:
        values |= {"precision": (prec * support).sum() / n, "recall": (rec * support).sum() / n,
                   "f1": values["f1_weighted"]}
    return {m: float(values[m]) for m in CLASSIFICATION}
