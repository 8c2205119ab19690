"""Collect per-run metrics into long form and summarise them as mean +- sd over seeds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from psymtl import evaluation, health


def collect(runs: Iterable[Mapping[str, Any]], thresholds: Mapping[str, float]) -> pd.DataFrame:
    """Long frame (study, condition, seed, split, task, metric, value, collapsed) from each
    run's ``{study, condition, seed, metrics}`` (the path of its metrics.json, or the file
    already read). ``collapsed`` names the run's collapsed test tasks (the collapse guard with
    ``thresholds``; empty for a healthy run), on every row of that run."""
    rows = []
    for r in runs:
        study, condition, seed = r["study"], r["condition"], int(r["seed"])
        m = evaluation.read(r["metrics"])
        collapsed = " ".join(health.judge(m, thresholds))
        for split, per_task in evaluation.splits(m).items():
            for task, vals in per_task.items():
                rows += [{"study": study, "condition": condition, "seed": seed, "split": split,
                          "task": task, "metric": k, "value": v, "collapsed": collapsed}
                         for k, v in vals.items() if k != "n"]
    return pd.DataFrame(rows)


def summarise(long: pd.DataFrame, split: str = "test") -> pd.DataFrame:
    """Mean, sd and number of the healthy runs' values per study, condition, task and metric;
    a collapsed run is never counted, only named (``collapsed_seeds``)."""
    part = long[long["split"] == split]
    keys = ["study", "condition", "task", "metric"]
    ok = part["collapsed"] == ""
    out = (part[ok].groupby(keys, sort=True)["value"]
           .agg(mean="mean", sd="std", n_seeds="count"))
    bad = (part[~ok].groupby(keys, sort=True)["seed"]
           .agg(lambda s: " ".join(map(str, sorted(s)))).rename("collapsed_seeds"))
    out = pd.concat([out, bad], axis=1).reset_index()
    out["n_seeds"] = out["n_seeds"].fillna(0).astype(int)
    out["collapsed_seeds"] = out["collapsed_seeds"].fillna("")
    return out


def _collapsed(seeds: pd.Series) -> str:
    """The collapsed seeds of a row group, for a table cell."""
    return " ".join(sorted({x for v in seeds for x in str(v).split()}, key=int))


def fmt(mean: float, sd: float, digits: int = 3) -> str:
    if pd.isna(mean):
        return "no healthy run"
    return f"{mean:.{digits}f}" if pd.isna(sd) else f"{mean:.{digits}f} ± {sd:.{digits}f}"


ORDER = ["accuracy", "precision", "recall", "f1", "f1_weighted", "f1_macro", "r2", "mae",
         "clark", "canberra", "cosine", "intersection", "chebyshev", "kl", "js"]


def headline(summary: pd.DataFrame, metrics: Iterable[str] | None = None) -> pd.DataFrame:
    """Wide table: a row per study/condition/task, a column per metric it has (of
    ``metrics`` only, when given)."""
    order = [m for m in ORDER if metrics is None or m in set(metrics)]
    rows = []
    for (study, cond, task), part in summary.groupby(["study", "condition", "task"]):
        vals = part.set_index("metric")
        row = {"study": study, "condition": cond, "task": task,
               "seeds": int(vals["n_seeds"].max()),
               "collapsed seeds": _collapsed(vals["collapsed_seeds"])}
        row |= {m: fmt(vals.at[m, "mean"], vals.at[m, "sd"]) for m in order if m in vals.index}
        rows.append(row)
    return pd.DataFrame(rows).fillna("")


def paper_comparison(summary: pd.DataFrame, paper: dict, study: str) -> pd.DataFrame:
    """Long table: each value a paper reports for ``study`` beside ours (mean, sd, seeds)."""
    ours = summary[summary["study"] == study].set_index(["condition", "task", "metric"])
    rows = []
    for name, table in paper.get("tables", {}).items():
        for cond, per_task in table["values"].items():
            for task, entries in per_task.items():
                for metric, entry in zip(table["metrics"], entries, strict=True):
                    if entry is None:
                        continue
                    key = (cond, task, metric)
                    mean, sd, n, bad = (ours.loc[key, ["mean", "sd", "n_seeds",
                                                       "collapsed_seeds"]]
                                        if key in ours.index else (float("nan"),) * 3 + ("",))
                    rows.append({"study": study, "table": name, "condition": cond,
                                 "task": task, "metric": metric, "ours_mean": mean,
                                 "ours_sd": sd, "seeds": n, "collapsed_seeds": bad,
                                 "paper_mean": entry[0],
                                 "paper_sd": entry[1], "difference": mean - entry[0]})
    return pd.DataFrame(rows)


def paper_markdown(comp: pd.DataFrame, paper: dict) -> str:
    """One Markdown table per paper table: rows condition/task, cells 'ours | paper'."""
    out = []
    for name, part in comp.groupby("table", sort=False):
        table = paper["tables"][name]
        out.append(f"### {table['caption']}\n\nOurs (mean ± sd over seeds) | paper "
                   f"({paper.get('source', '')}) | difference.\n")
        wide = []
        for (cond, task), rows in part.groupby(["condition", "task"], sort=False):
            row = {"condition": cond, "task": task, "seeds": _int(rows["seeds"].max()),
                   "collapsed seeds": _collapsed(rows["collapsed_seeds"])}
            for r in rows.itertuples():
                row[f"{r.metric} ours"] = fmt(r.ours_mean, r.ours_sd)
                row[f"{r.metric} paper"] = fmt(r.paper_mean, r.paper_sd, 4)
                row[f"{r.metric} diff"] = "" if pd.isna(r.difference) else f"{r.difference:+.3f}"
            wide.append(row)
        out.append(pd.DataFrame(wide).fillna("").to_markdown(index=False) + "\n")
    return "\n".join(out)


def _int(v: float) -> int | str:
    return "0" if pd.isna(v) else int(v)


CLAIM_COLUMNS = ["study", "claim", "a", "b", "task", "metric", "expect", "paper", "mean_diff",
                 "ci_low", "ci_high", "seeds_a", "seeds_b", "collapsed", "verdict"]
TEST_COLUMNS = ["study", "a", "b", "task", "metric", "about", "seeds_paired", "posts",
                "mean_diff", "ci_low", "ci_high", "p_post_adj", "seed_test", "p_seed_adj",
                "aso_eps_a_better", "aso_eps_b_better", "p_mcnemar_adj", "training_length",
                "note"]


def significance_markdown(table: pd.DataFrame, settings: dict) -> str:
    """The headline claims (the paper's difference beside ours, with the verdict) and the
    tests behind them."""
    family = ("each study's comparisons" if settings.get("family", "study") == "study"
              else "all comparisons")
    return (
        "# Headline claims: the paper's finding beside ours\n\n"
        "Differences are a - b in the metric's units (ours: of the seed means on the posts both "
        "systems scored, with the 95% bootstrap CI over those posts). A verdict needs both the "
        "test over posts and the test over training seeds; `expect` is what the paper found. "
        "`seeds_a` / `seeds_b`: the healthy runs behind each side; a claim with a collapsed run "
        "(`collapsed`), optimizer steps more than 10% apart (unless the claim is about training "
        "length), or, in a claim about weighting, learned loss weights that did not move, is "
        "never counted as reproduced. ASO's eps_min is shown for both directions (small: "
        "that side is almost stochastically larger).\n\n"
        + table[CLAIM_COLUMNS].to_markdown(index=False, floatfmt=".4f") + "\n\n"
        f"# Tests ({settings['correction']}-corrected within {family}, "
        f"alpha = {settings['alpha']}, ASO tau = {settings['aso_tau']})\n\n"
        + table[TEST_COLUMNS].to_markdown(index=False, floatfmt=".4f") + "\n")


def write(runs: Iterable[Mapping[str, Any]], paper: dict, out: Mapping[str, str],
          thresholds: Mapping[str, float]) -> None:
    """Every table of the ``tables`` rule: the long metrics, mean +- sd over the healthy
    seeds, and each paper's reported numbers beside ours (``out``: the rule's output paths by
    name; ``thresholds``: the collapse guard's)."""
    long = collect(runs, thresholds)
    long.to_csv(out["long"], index=False)
    summary = summarise(long)
    summary.to_csv(out["csv"], index=False)
    Path(out["md"]).write_text("# Test-set results (mean ± sd over the healthy seeds)\n\n"
                               "A run whose test predictions collapsed (README: the collapse "
                               "guard) is not counted; its seeds are named.\n\n"
                               + headline(summary).to_markdown(index=False) + "\n")
    studies = sorted(set(summary["study"]))
    comps = [paper_comparison(summary, paper.get(s, {}), s) for s in studies]
    comp = pd.concat(comps, ignore_index=True) if comps else pd.DataFrame()
    comp.to_csv(out["paper_csv"], index=False)
    comp.to_latex(out["paper_tex"], index=False, float_format="%.3f", na_rep="--")
    Path(out["paper_md"]).write_text(
        "# Our results beside the papers' reported values\n\n" + "".join(
            f"## Study {s}\n\n{paper_markdown(c, paper[s])}\n"
            for s, c in zip(studies, comps, strict=True) if len(c)))


def sensitivity(long: pd.DataFrame, sweep: Mapping[str, Any]) -> pd.DataFrame:
    """A sweep's metrics per value, split, task and metric: mean, sd and a 95% t-interval over
    the healthy seeds (``collapsed_seeds`` names the others); ``configured`` marks the
    condition's own value. Choose a value on ``dev``; ``test`` shows what it gives."""
    import numpy as np
    from scipy import stats

    rows = []
    for value, run in zip(sweep["values"], sweep["runs"], strict=True):
        mine = long[long["condition"] == run]
        for (split, task, metric), g in mine.groupby(["split", "task", "metric"]):
            ok = g["collapsed"] == ""
            v = g.loc[ok, "value"].to_numpy(float)
            n = len(v)
            sd = float(v.std(ddof=1)) if n > 1 else float("nan")
            half = float(stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)) if n > 1 else float("nan")
            mean = float(v.mean()) if n else float("nan")
            rows.append({"setting": sweep["setting"], "value": value, "run": run,
                         "configured": run == sweep["condition"], "split": split,
                         "task": task, "metric": metric, "n_seeds": n, "mean": mean, "sd": sd,
                         "ci_low": mean - half, "ci_high": mean + half,
                         "seeds": " ".join(repr(float(x)) for x in v),
                         "collapsed_seeds": " ".join(map(str, sorted(g.loc[~ok, "seed"])))})
    return pd.DataFrame(rows)
