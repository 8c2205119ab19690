"""Significance tests for declared comparisons of two conditions on one task and metric.

For each comparison (system A vs system B):
- Almost Stochastic Order across seeds (Dror et al. 2019, ``deepsig.aso``): eps_min < tau
  (0.2) says A is almost stochastically larger than B, at confidence 1 - alpha.
- Wilcoxon signed-rank on seed-paired scores (same seed for A and B).
- Paired bootstrap over test examples: each resample scores both systems (the metric
  averaged over seeds) and gives the difference A - B; 95% percentile CI, two-sided p.
- McNemar's exact test on paired decisions (classification tasks; seed-averaged
  probabilities decide).
p-values are corrected across comparisons (Holm or Benjamini-Hochberg). A test that needs
more seeds than there are gives a note instead of a number.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from psymtl import metrics
from psymtl import tasks as T


def _adjust(p: Sequence[float], step) -> np.ndarray:
    """Apply a step-wise adjustment to the non-NaN p-values (sorted ascending), keep NaNs."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    order = np.argsort(p[ok])
    res = np.empty(ok.sum())
    res[order] = np.minimum(step(p[ok][order], ok.sum()), 1.0)
    out[ok] = res
    return out


def holm(p: Sequence[float]) -> np.ndarray:
    return _adjust(p, lambda q, m: np.maximum.accumulate((m - np.arange(m)) * q))


def benjamini_hochberg(p: Sequence[float]) -> np.ndarray:
    return _adjust(p, lambda q, m: np.minimum.accumulate(
        (q * m / np.arange(1, m + 1))[::-1])[::-1])


CORRECTIONS = {"holm": holm, "bh": benjamini_hochberg}


def wilcoxon(a: np.ndarray, b: np.ndarray, min_n: int) -> tuple[float, str]:
    if len(a) < min_n:
        return float("nan"), f"Wilcoxon needs >= {min_n} paired seeds, have {len(a)}"
    if np.allclose(a, b):
        return 1.0, "identical seed scores"
    return float(sps.wilcoxon(a, b).pvalue), ""


def aso(a: np.ndarray, b: np.ndarray, alpha: float, min_n: int, seed: int,
        num_comparisons: int = 1) -> tuple[float, str]:
    if min(len(a), len(b)) < min_n:
        return float("nan"), f"ASO needs >= {min_n} seeds per system, have {min(len(a), len(b))}"
    from deepsig import aso as deepsig_aso

    return float(deepsig_aso(a, b, confidence_level=1 - alpha, num_comparisons=num_comparisons,
                             seed=seed, show_progress=False)), ""


def score(kind: str, metric: str, y: np.ndarray, probs: Sequence[np.ndarray]) -> float:
    """The metric averaged over seeds' predictions."""
    return float(np.mean([metrics.single(kind, metric, y, p) for p in probs]))


def paired_bootstrap(kind: str, metric: str, y: np.ndarray, pa: list[np.ndarray],
                     pb: list[np.ndarray], samples: int, seed: int) -> dict[str, float]:
    """Difference A - B of ``metric`` over resamples of the test examples."""
    rng = np.random.default_rng(seed)
    n = len(y)
    diffs = np.empty(samples)
    for i in range(samples):
        idx = rng.integers(0, n, n)
        diffs[i] = (score(kind, metric, y[idx], [p[idx] for p in pa])
                    - score(kind, metric, y[idx], [p[idx] for p in pb]))
    diffs = diffs[~np.isnan(diffs)]
    diff = score(kind, metric, y, pa) - score(kind, metric, y, pb)
    if not len(diffs):  # e.g. R2 or F1 of a constant target: undefined on every resample
        return {"diff": diff, "ci_low": float("nan"), "ci_high": float("nan"),
                "p_bootstrap": float("nan")}
    p = 2 * min((diffs <= 0).mean(), (diffs >= 0).mean())
    return {"diff": diff, "ci_low": float(np.percentile(diffs, 2.5)),
            "ci_high": float(np.percentile(diffs, 97.5)), "p_bootstrap": float(min(p, 1.0))}


def mcnemar(y: np.ndarray, pa: list[np.ndarray], pb: list[np.ndarray]) -> float:
    """Exact McNemar on decisions from seed-averaged probabilities."""
    ca = np.mean(pa, 0).argmax(-1) == y
    cb = np.mean(pb, 0).argmax(-1) == y
    b01, b10 = int((ca & ~cb).sum()), int((~ca & cb).sum())
    if b01 + b10 == 0:
        return 1.0
    return float(sps.binomtest(b01, b01 + b10, 0.5).pvalue)


def targets_and_preds(frames: list[pd.DataFrame], task: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """Test targets and each seed's predictions for ``task``, aligned by post id."""
    t = T.get(task)
    base = None
    preds = []
    for f in frames:
        f = f[(f["split"] == "test") & f[f"{task}__present"]].sort_values("id")
        if base is None:
            base = f
        elif not np.array_equal(base["id"].to_numpy(), f["id"].to_numpy()):
            raise ValueError(f"{task}: systems were tested on different posts")
        preds.append(np.stack(f[f"{task}__pred"]) if t.kind != "regression"
                     else f[f"{task}__pred"].to_numpy(float))
    assert base is not None
    y = (np.stack(base[f"{task}__target"]) if t.kind == "distribution"
         else base[f"{task}__target"].to_numpy(float if t.kind == "regression" else int))
    return y, preds


def compare(comp: dict[str, Any], seed_scores: dict[str, dict[int, float]],
            preds: dict[str, list[pd.DataFrame]], settings: dict[str, Any]) -> dict[str, Any]:
    """All tests for one comparison; ``seed_scores[system][seed]`` are per-seed metric values."""
    a, b, task, metric = comp["a"], comp["b"], comp["task"], comp["metric"]
    kind = T.get(task).kind
    sign = -1.0 if metric in metrics.LOWER_IS_BETTER else 1.0
    seeds = sorted(set(seed_scores[a]) & set(seed_scores[b]))
    sa = np.array([seed_scores[a][s] for s in seeds]) * sign
    sb = np.array([seed_scores[b][s] for s in seeds]) * sign
    notes = []
    p_w, note = wilcoxon(sa, sb, settings["min_seeds"]["wilcoxon"])
    notes.append(note)
    eps, note = aso(np.array(list(seed_scores[a].values())) * sign,
                    np.array(list(seed_scores[b].values())) * sign, settings["alpha"],
                    settings["min_seeds"]["aso"], settings["bootstrap"]["seed"],
                    settings.get("num_comparisons", 1))
    notes.append(note)
    y, pa = targets_and_preds(preds[a], task)
    _, pb = targets_and_preds(preds[b], task)
    boot = paired_bootstrap(kind, metric, y, pa, pb, settings["bootstrap"]["samples"],
                            settings["bootstrap"]["seed"])
    if np.isnan(boot["p_bootstrap"]):
        notes.append(f"{metric} is undefined on the test set (constant targets?): no bootstrap")
    row = {**{k: comp.get(k) for k in ("study", "a", "b", "task", "metric", "claim", "paper")},
           "seeds_a": len(seed_scores[a]), "seeds_b": len(seed_scores[b]),
           "mean_a": float(np.mean(list(seed_scores[a].values()))),
           "mean_b": float(np.mean(list(seed_scores[b].values()))),
           "aso_eps_min": eps, "p_wilcoxon": p_w, **boot,
           "p_mcnemar": mcnemar(y, pa, pb) if kind == "classification" else float("nan"),
           "note": "; ".join(n for n in notes if n)}
    row["mean_diff"] = row["mean_a"] - row["mean_b"]
    return row


def correct(table: pd.DataFrame, method: str) -> pd.DataFrame:
    out = table.copy()
    for col in ("p_wilcoxon", "p_bootstrap", "p_mcnemar"):
        out[f"{col}_adj"] = CORRECTIONS[method](out[col].to_numpy(float))
    return out


def verdict(row: pd.Series, alpha: float, tau: float) -> str:
    """Did we reproduce the paper's direction, and is our difference significant?"""
    better = row["mean_diff"] * (-1 if row["metric"] in metrics.LOWER_IS_BETTER else 1)
    paper = row.get("paper")
    sig = row["p_bootstrap_adj"] < alpha
    significance = f"{'significant' if sig else 'not significant'} (bootstrap)"
    aso_ok = not pd.isna(row["aso_eps_min"]) and row["aso_eps_min"] < tau
    if paper is None or pd.isna(paper):
        direction = "no paper figure"
    elif paper == 0:  # the paper reports no effect: reproduced when ours is not significant
        direction = "paper: no effect; " + ("reproduced" if not sig else "not reproduced")
    elif better == 0:
        direction = "no difference here"
    else:
        direction = "same direction" if np.sign(better) == np.sign(paper) else "opposite direction"
    return f"{direction}, {significance}" + (", ASO-dominant" if aso_ok and better > 0 else "")
