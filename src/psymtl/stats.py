"""Significance and equivalence tests for declared comparisons of two conditions.

Each comparison (system a vs system b on one task and test metric) states what the paper
found (``expect``): ``a_better`` / ``b_better`` (a difference in that direction),
``equivalent`` (no effect: |a - b| < margin) or ``a_not_better`` (a does not beat b by the
margin or more). "Better" follows the metric's direction (lower is better for distances and
errors); differences are always a - b in the metric's units, ours and the paper's alike.

Two kinds of evidence, and a verdict needs both:
- over test posts: a paired bootstrap (each resample scores both systems, the metric averaged
  over seeds): 95% percentile CI and two-sided p of the difference; for equivalence two
  one-sided tests (TOST) against the margin, for non-superiority the one-sided test;
- over training seeds: Wilcoxon signed-rank on seed-paired scores where there are enough
  seeds (``min_seeds.wilcoxon``), else Almost Stochastic Order (Dror et al. 2019, deepsig's test;
  eps_min < tau) where there are ``min_seeds.aso``; for equivalence / non-superiority a paired
  t-TOST / one-sided t-test on the seed differences.
McNemar's exact test on paired decisions is shown for classification tasks. Every statistic,
the seed-level ones and the direction of the verdict included, is computed on the posts both
systems scored; ASO's eps_min is reported for both directions.
A run whose predictions collapsed (:mod:`psymtl.health`) is left out of the tests and named,
and a comparison with one, or with an undeclared difference in optimizer steps
(:func:`training_length`), is never counted as reproduced.
p-values are corrected (Holm or Benjamini-Hochberg) within a family: each study's
comparisons (``family: study``) or all of them (``family: all``); ASO gets a Bonferroni
correction over the family. Systems are aligned by post id: posts missing from either system
(e.g. failed annotations) are dropped from both and counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from psymtl import metrics
from psymtl import predictions as P
from psymtl.kinds import Kind
from psymtl.tasks import Task

EXPECT = ("a_better", "b_better", "equivalent", "a_not_better")


def better(metric: str, diff: float) -> float:
    """``diff`` (a - b) turned so that positive means a is better on ``metric``."""
    return -diff if metric in metrics.LOWER_IS_BETTER else diff


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


def smallest_wilcoxon_p(n: int) -> float:
    """The smallest two-sided p the exact Wilcoxon test can give with ``n`` pairs."""
    return 2.0 / 2**n


def wilcoxon_reachable(n: int, family_size: int, alpha: float) -> bool:
    """Whether ``n`` seed pairs can reach significance after correcting over the family
    (the first Holm / Bonferroni step needs p < alpha / m)."""
    return smallest_wilcoxon_p(n) < alpha / max(family_size, 1)


def wilcoxon(a: np.ndarray, b: np.ndarray, min_n: int) -> tuple[float, str]:
    if len(a) < min_n:
        return float("nan"), f"Wilcoxon needs >= {min_n} paired seeds, have {len(a)}"
    if np.allclose(a, b):
        return 1.0, "identical seed scores"
    return float(sps.wilcoxon(a, b).pvalue), ""


def aso(a: np.ndarray, b: np.ndarray, alpha: float, min_n: int, seed: int,
        num_comparisons: int = 1, iterations: int = 1000, dt: float = 0.005
        ) -> tuple[float, str]:
    """eps_min of 'a is almost stochastically larger than b' (NaN + note with too few seeds).

    deepsig's ``aso`` (1.2.8; Dror et al. 2019) computed at once over its bootstrap
    iterations, the same draws (iteration k seeds numpy's legacy generator with seed + k) and
    the same floating-point operations: equal to it bit for bit (tested), about 20x faster,
    and without the PyTorch import that deepsig makes."""
    if min(len(a), len(b)) < min_n:
        return float("nan"), f"ASO needs >= {min_n} seeds per system, have {min(len(a), len(b))}"
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    confidence = 1 - alpha
    if num_comparisons > 1:  # Bonferroni, as deepsig applies it
        confidence += (1 - confidence) / num_comparisons
    t = np.arange(dt, 1, dt)
    ratio = _violation_ratio(_quantiles(a, t), _quantiles(b, t), dt)
    draws_a, draws_b = np.empty((iterations, len(a))), np.empty((iterations, len(b)))
    for k in range(iterations):
        rng = np.random.RandomState(seed + k + 1)
        draws_a[k], draws_b[k] = rng.uniform(0, 1, len(a)), rng.uniform(0, 1, len(b))
    resampled_a = np.sort(_quantiles(a, draws_a), axis=1)
    resampled_b = np.sort(_quantiles(b, draws_b), axis=1)
    samples = _violation_ratio(_quantiles(resampled_a, t), _quantiles(resampled_b, t), dt)
    const = np.sqrt(len(a) * len(b) / (len(a) + len(b)))
    sigma = np.std(const * (samples - ratio))
    return float(np.clip(ratio - (1 / const) * sigma * sps.norm.ppf(1 - confidence), 0, 1)), ""


def _quantiles(sorted_scores: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The empirical quantile function of each row of ``sorted_scores`` at ``p``."""
    n = sorted_scores.shape[-1]
    index = np.clip(np.ceil(n * p).astype(int) - 1, 0, n - 1)
    if sorted_scores.ndim == 1:
        return sorted_scores[index]
    return np.take_along_axis(sorted_scores, np.atleast_2d(index), 1)  # rows share a 1-D grid


def _violation_ratio(f: np.ndarray, g: np.ndarray, dt: float) -> np.ndarray:
    """ASO's violation ratio of quantiles ``f`` (a) and ``g`` (b) on the grid, per row: the
    part of the squared Wasserstein distance where a is below b (0.5 where they are equal)."""
    diff = g - f
    distance = np.sum(diff ** 2 * dt, axis=-1)
    diff[f >= g] = 0
    violation = np.sum(diff[..., 1:] ** 2 * dt, axis=-1)
    return np.where(distance == 0, 0.5, violation / np.where(distance == 0, 1, distance))


def t_one_sided(d: np.ndarray, bound: float, below: bool) -> float:
    """p of H1: mean(d) < bound (``below``) or mean(d) > bound, one-sample t-test."""
    if len(d) < 2:
        return float("nan")
    se = d.std(ddof=1) / np.sqrt(len(d))
    if se == 0:
        return 0.0 if (d.mean() < bound if below else d.mean() > bound) else 1.0
    t = (d.mean() - bound) / se
    return float(sps.t.cdf(t, len(d) - 1) if below else sps.t.sf(t, len(d) - 1))


def tost_seeds(d: np.ndarray, margin: float) -> float:
    """Paired t-TOST: p of -margin < mean(d) < margin (the larger of the two one-sided p)."""
    return max(t_one_sided(d, margin, below=True), t_one_sided(d, -margin, below=False))


def score(kind: Kind, metric: str, y: np.ndarray, probs: Sequence[np.ndarray]) -> float:
    """The metric averaged over seeds' predictions."""
    return float(np.mean([kind.metric(metric, y, p) for p in probs]))


def paired_bootstrap(kind: Kind, metric: str, y: np.ndarray, pa: list[np.ndarray],
                     pb: list[np.ndarray], samples: int, seed: int) -> dict[str, Any]:
    """Difference a - b of ``metric`` over resamples of the test posts (``diffs``: the
    resampled differences, for the one-sided tests)."""
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
                "p_bootstrap": float("nan"), "diffs": diffs}
    p = 2 * min((diffs <= 0).mean(), (diffs >= 0).mean())
    return {"diff": diff, "ci_low": float(np.percentile(diffs, 2.5)),
            "ci_high": float(np.percentile(diffs, 97.5)), "p_bootstrap": float(min(p, 1.0)),
            "diffs": diffs}


def mcnemar(y: np.ndarray, pa: list[np.ndarray], pb: list[np.ndarray]) -> float:
    """Exact McNemar on decisions from seed-averaged probabilities."""
    ca = np.mean(pa, 0).argmax(-1) == y
    cb = np.mean(pb, 0).argmax(-1) == y
    b01, b10 = int((ca & ~cb).sum()), int((~ca & cb).sum())
    if b01 + b10 == 0:
        return 1.0
    return float(sps.binomtest(b01, b01 + b10, 0.5).pvalue)


def aligned(frames: dict[str, list[pd.DataFrame]], t: Task
            ) -> tuple[np.ndarray, dict[str, list[np.ndarray]], int]:
    """Test targets and every system's per-seed predictions for task ``t`` on the posts that
    every run scored (matched by id); also how many posts some run lacked."""
    task = t.name
    tested = [P.with_target(f, task, "test").set_index("id")
              for fs in frames.values() for f in fs]
    everywhere = set.intersection(*(set(f.index) for f in tested))
    ids = sorted(everywhere)
    dropped = len(set.union(*(set(f.index) for f in tested)) - everywhere)
    y = t.kind.stack_targets(tested[0].loc[ids, P.column(task, P.TARGET)])
    preds, i = {}, 0
    for system, fs in frames.items():
        preds[system] = []
        for _ in fs:
            preds[system].append(t.kind.stack_predictions(
                tested[i].loc[ids, P.column(task, P.PRED)]))
            i += 1
    return y, preds, dropped


def compare(comp: dict[str, Any], preds: dict[str, dict[int, pd.DataFrame]],
            settings: dict[str, Any], family_size: int = 1, *, task: Task) -> dict[str, Any]:
    """Every test of one comparison on ``task`` (the comparison's ``task``);
    ``preds[system][seed]`` are the per-seed prediction frames. Every statistic, the
    seed-level ones included, is computed on the posts both systems scored (aligned by id)."""
    a, b, metric = comp["a"], comp["b"], comp["metric"]
    expect = comp.get("expect", "a_better")
    margin = comp.get("margin", settings.get("equivalence_margin", 0.01))
    alpha, min_seeds = settings["alpha"], settings["min_seeds"]
    kind = task.kind
    sign = -1.0 if metric in metrics.LOWER_IS_BETTER else 1.0
    y, p, dropped = aligned({s: list(preds[s].values()) for s in (a, b)}, task)
    seed_scores = {s: {seed: kind.metric(metric, y, q)
                       for seed, q in zip(preds[s], p[s], strict=True)} for s in (a, b)}
    seeds = sorted(set(seed_scores[a]) & set(seed_scores[b]))
    sa = np.array([seed_scores[a][s] for s in seeds])
    sb = np.array([seed_scores[b][s] for s in seeds])
    d = sign * (sa - sb)  # per-seed difference, positive: a better
    notes = []
    p_w, note = wilcoxon(sign * sa, sign * sb, min_seeds["wilcoxon"])
    notes.append(note)
    if not np.isnan(p_w) and not wilcoxon_reachable(len(seeds), family_size, alpha):
        notes.append(f"with {len(seeds)} seeds the smallest Wilcoxon p is "
                     f"{smallest_wilcoxon_p(len(seeds)):.3g} >= alpha/{family_size}: "
                     "seed-level significance is unreachable")
    all_a = np.array(list(seed_scores[a].values())) * sign
    all_b = np.array(list(seed_scores[b].values())) * sign
    aso_seed = settings["bootstrap"]["seed"]
    eps_a, note = aso(all_a, all_b, alpha, min_seeds["aso"], aso_seed, family_size)
    eps_b, _ = aso(all_b, all_a, alpha, min_seeds["aso"], aso_seed, family_size)
    notes.append(note)
    if dropped:
        notes.append(f"{dropped} test posts missing from some run were left out of both")
    boot = paired_bootstrap(kind, metric, y, p[a], p[b], settings["bootstrap"]["samples"],
                            settings["bootstrap"]["seed"])
    diffs = sign * boot.pop("diffs")  # resampled differences, positive: a better
    if np.isnan(boot["p_bootstrap"]):
        notes.append(f"{metric} is undefined on the test set (constant targets?): no bootstrap")
    scores = {s: list(seed_scores[s].values()) for s in (a, b)}
    row = {**{k: comp.get(k) for k in ("study", "a", "b", "task", "metric", "claim", "paper")},
           "expect": expect, "about": ", ".join(comp.get("about", [])), "margin": margin,
           "seeds_a": len(scores[a]), "seeds_b": len(scores[b]),
           "seeds_paired": len(seeds), "posts": len(y), "posts_dropped": dropped,
           "mean_a": float(np.mean(scores[a])), "mean_b": float(np.mean(scores[b])),
           "sd_a": float(np.std(scores[a], ddof=1)) if len(scores[a]) > 1 else float("nan"),
           "sd_b": float(np.std(scores[b], ddof=1)) if len(scores[b]) > 1 else float("nan"),
           "aso_eps_a_better": eps_a, "aso_eps_b_better": eps_b, "p_wilcoxon": p_w, **boot,
           "p_mcnemar": mcnemar(y, p[a], p[b]) if kind.decisions else float("nan")}
    row["mean_diff"] = row["mean_a"] - row["mean_b"]
    # ASO's evidence is for the direction our seeds show (a better when the means tie)
    row["aso_eps_min"] = eps_a if better(metric, row["mean_diff"]) >= 0 else eps_b
    enough = len(seeds) >= min_seeds["aso"]
    if expect in ("equivalent", "a_not_better"):
        if expect == "equivalent":
            p_post = max((diffs <= -margin).mean(), (diffs >= margin).mean()) if len(diffs) \
                else float("nan")
            p_seed = tost_seeds(d, margin) if enough else float("nan")
            test = "TOST"
        else:
            p_post = float((diffs >= margin).mean()) if len(diffs) else float("nan")
            p_seed = t_one_sided(d, margin, below=True) if enough else float("nan")
            test = "one-sided t"
        row |= {"p_post": p_post, "post_test": f"bootstrap {test} (margin {margin:g})",
                "p_seed": p_seed, "seed_test": f"paired {test} (margin {margin:g})"
                if enough else "none"}
        if not enough:
            notes.append(f"seed-level {test} needs >= {min_seeds['aso']} paired seeds")
    else:
        seed_test = ("Wilcoxon" if not np.isnan(p_w) else "ASO" if not np.isnan(eps_a)
                     else "none")
        row |= {"p_post": boot["p_bootstrap"], "post_test": "paired bootstrap",
                "p_seed": p_w, "seed_test": seed_test}
    row["note"] = "; ".join(n for n in notes if n)
    return row


LENGTH_TOLERANCE = 0.10  # optimizer steps differing by more than this share are a confound
MIN_DRIFT = 0.05  # learned loss weights that end closer than this to their start did not learn


def training_length(comp: dict[str, Any], steps: dict[str, list[int]]) -> str:
    """A note when the two systems took different numbers of optimizer steps (mean over
    their runs, ``steps[system]``): a confound unless the comparison is about training
    length (``length: about``). Settings in ``about`` such as ``epochs`` do not excuse it: a
    control given more epochs to match the other's steps must reach them (early stopping
    can cut it short)."""
    if not all(steps.get(s) for s in (comp["a"], comp["b"])):
        return ""
    sa, sb = (float(np.mean(steps[s])) for s in (comp["a"], comp["b"]))
    if abs(sa - sb) <= LENGTH_TOLERANCE * max(sa, sb):
        return ""
    declared = comp.get("length", "matched") == "about"
    what = "declared" if declared else "confounded by training length"
    return f"{what}: {comp['a']} {sa:.0f} optimizer steps, {comp['b']} {sb:.0f}"


def weight_drift(log: pd.DataFrame) -> float:
    """The largest distance of a logged loss weight (``w_...`` of ``train_log.csv``) from its
    start at the end of training (nan without logged weights)."""
    w = [c for c in log.columns if c.startswith("w_")]
    return float((log[w].iloc[-1] - log[w].iloc[0]).abs().max()) if w else float("nan")


def weights_moved(comp: dict[str, Any], drift: dict[str, list[float]]) -> str:
    """A note when a comparison is about weighting and a system's learned loss weights
    (``drift[system]``: :func:`weight_drift` of each run) ended within :data:`MIN_DRIFT` of
    their start on average: learned against fixed weights is then not tested."""
    if "weighting" not in comp.get("about", []):
        return ""
    still = {s: float(np.mean(d)) for s, d in drift.items() if d and np.mean(d) < MIN_DRIFT}
    return "; ".join(f"{s}'s learned weights did not move (drift {v:.3f} < {MIN_DRIFT})"
                     for s, v in still.items())


def correct(table: pd.DataFrame, method: str, family: str = "study") -> pd.DataFrame:
    """Adjusted p-values (``<col>_adj``) within each family of comparisons."""
    out = table.copy()
    groups = out["study"] if family == "study" else pd.Series("all", index=out.index)
    for col in ("p_post", "p_seed", "p_bootstrap", "p_wilcoxon", "p_mcnemar"):
        out[f"{col}_adj"] = np.nan
        for _, idx in out.groupby(groups).groups.items():
            out.loc[idx, f"{col}_adj"] = CORRECTIONS[method](out.loc[idx, col].to_numpy(float))
    return out


def verdict(row: pd.Series, alpha: float, tau: float) -> str:
    """Was the paper's finding reproduced, on which evidence? A comparison with a collapsed
    run on either side, an undeclared difference in training length, or learned loss weights
    that did not move is never counted as reproduced: its verdict says why and what the
    remaining runs show."""
    finding = _finding(row, alpha, tau)
    collapsed = row.get("collapsed") or ""
    length = row.get("training_length") or ""
    reasons = [f"collapsed run(s) {collapsed}"] if collapsed else []
    if length.startswith("confounded"):
        reasons.append(length)
    if row.get("weights"):
        reasons.append(row["weights"])
    if not reasons:
        return finding
    return (f"not counted: {'; '.join(reasons)}; "
            f"{'the healthy runs' if collapsed else 'as measured'}: {finding}")


def _finding(row: pd.Series, alpha: float, tau: float) -> str:
    expect, seed_test = row["expect"], row["seed_test"]
    post = row["p_post_adj"] < alpha
    if seed_test == "ASO":
        seed = row["aso_eps_min"] < tau
    elif seed_test == "none":
        seed = None
    else:
        seed = row["p_seed_adj"] < alpha
    levels = (f"{row['post_test']} over posts: {'yes' if post else 'no'}; "
              f"{seed_test} over seeds: "
              + ("too few seeds" if seed is None else "yes" if seed else "no"))
    if expect == "equivalent":
        head = (f"reproduced: equivalent within ±{row['margin']:g}" if post and seed
                else f"not shown equivalent within ±{row['margin']:g}")
        return f"{head} ({levels})"
    if expect == "a_not_better":
        head = (f"reproduced: {row['a']} not better by {row['margin']:g} or more" if post and seed
                else f"not shown that {row['a']} is not better")
        return f"{head} ({levels})"
    ours = np.sign(better(row["metric"], row["mean_diff"]))
    wanted = 1 if expect == "a_better" else -1
    significant = bool(post and seed)
    if ours == 0:
        head = "no difference"
    elif ours == wanted:
        head = "reproduced: significant" if significant else "same direction, not significant"
    else:
        head = ("contradicted: significant in the opposite direction" if significant
                else "opposite direction, not significant")
    return f"{head} ({levels})"


def table(comparisons: list[dict[str, Any]], runs: list[dict[str, Any]],
          settings: dict[str, Any], thresholds: dict[str, float],
          tasks: Mapping[str, Task]) -> pd.DataFrame:
    """Every declared comparison tested on its healthy runs (its task looked up in
    ``tasks``), corrected within its family, with its verdict.

    ``runs``: one entry per training run, ``{study, condition, seed, metrics, predictions}``
    (the paths of its metrics.json and predictions.parquet; ``summary``, its
    train_summary.json, where known); ``thresholds``: the collapse guard's."""
    from psymtl import evaluation, health
    from psymtl.io import read_json

    family = settings.get("family", "study")
    sizes = pd.Series([c["study"] if family == "study" else "all" for c in comparisons])
    rows = []
    for comp in comparisons:
        preds: dict[str, dict[int, pd.DataFrame]] = {}
        steps: dict[str, list[int]] = {}
        drift: dict[str, list[float]] = {}
        collapsed = []
        for system in (comp["a"], comp["b"]):
            mine = [r for r in runs if (r["study"], r["condition"]) == (comp["study"], system)]
            bad = [int(r["seed"]) for r in mine
                   if health.judge(evaluation.read(r["metrics"]), thresholds)]
            if bad:
                collapsed.append(f"{system} seed{'s' if len(bad) > 1 else ''} "
                                 + ", ".join(map(str, sorted(bad))))
            healthy = [r for r in mine if int(r["seed"]) not in bad] or mine
            preds[system] = {int(r["seed"]): pd.read_parquet(r["predictions"])
                             for r in healthy}
            summaries = {id(r): read_json(r["summary"]) for r in mine if r.get("summary")}
            steps[system] = [x for x in (v.get("steps") for v in summaries.values()) if x]
            drift[system] = [weight_drift(pd.read_csv(Path(r["summary"]).parent
                                                      / "train_log.csv"))
                             for r in healthy if id(r) in summaries
                             and summaries[id(r)].get("loss_weights_lr") is not None]
        key = comp["study"] if family == "study" else "all"
        row = compare(comp, preds, settings, int((sizes == key).sum()),
                      task=tasks[comp["task"]])
        row["collapsed"] = "; ".join(collapsed)
        row["training_length"] = training_length(comp, steps)
        row["weights"] = weights_moved(comp, drift)
        rows.append(row)
    out = correct(pd.DataFrame(rows), settings["correction"], family)
    out["verdict"] = [verdict(r, settings["alpha"], settings["aso_tau"])
                      for _, r in out.iterrows()]
    return out
