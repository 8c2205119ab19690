"""The real-data reproduction report: committed run outputs in, ``docs/reproduction.md`` and
its figures out.

``collect`` copies each finished run's small outputs (metrics, test predictions, train log
and summary, per-job times) and each stage's reports from a workflow's ``results/`` into
``docs/reproduction/runs/<name>/``, so that the report can be rebuilt from the repository
alone and a later run adds seeds instead of repeating them. ``build`` makes every table,
test and figure from those files; gaps of more than 0.03 on a headline metric are listed
under each table with the explanation from ``docs/reproduction/notes.yaml`` (or
"unexplained").
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from psymtl import datasets, evaluation, figures, provenance, settings, stats, tables
from psymtl.io import read_json
from psymtl.tasks import Task

RUN_FILES = ("metrics.json", "predictions.parquet", "train_log.csv", "train_summary.json")
GAP = 0.03
CUT_LENGTHS = (128, 256, 512)  # input lengths whose cut share the report shows
FP32 = "fp32"  # the setup of fp32 twins of main runs: same settings and seeds, bf16 autocast off
WEIGHTS_LR = "weights_lr"  # the setup of the learned loss weights' learning-rate sweep (Study C)


def collect(results: str | Path, into: str | Path) -> list[Path]:
    """Copy every finished run (one with metrics.json) and the stage reports; return the
    run folders written."""
    results, into = Path(results), Path(into)
    written = []
    for metrics_file in sorted(results.glob("*/*/seed*/metrics.json")):
        run = metrics_file.parent
        study, cond, seed = run.parts[-3:]
        dest = into / study / cond / seed
        dest.mkdir(parents=True, exist_ok=True)
        for name in RUN_FILES:
            shutil.copy2(run / name, dest / name)
        for rule in ("train", "evaluate"):
            bench = results / "benchmarks" / rule / study / cond / f"{seed}.tsv"
            if bench.exists():
                shutil.copy2(bench, dest / f"{rule}.tsv")
        written.append(dest)
    stages = into / "stages"
    stages.mkdir(parents=True, exist_ok=True)
    for f in [*results.glob("data/*.report.json"), *results.glob("tokens/*/*.json"),
              *results.glob("mlm/*/mlm_summary.json")]:
        shutil.copy2(f, stages / "__".join(f.relative_to(results).parts))
    for f in results.glob("benchmarks/*/*.tsv"):  # per-dataset stages (fetch .. tokenize, mlm)
        shutil.copy2(f, stages / "__".join(f.relative_to(results).parts))
    for f in results.glob("benchmarks/tokenize/*/*.tsv"):
        shutil.copy2(f, stages / "__".join(f.relative_to(results).parts))
    for f in results.glob("tokens/*/*.parquet"):  # how many posts each input length cuts
        info = read_json(f.with_suffix(".json"))
        budget = len(info.get("prefix", [])) + len(info.get("suffix", []))
        n = pd.read_parquet(f, columns=["n_tokens"])["n_tokens"].to_numpy()
        (stages / f"lengths__{f.parent.name}__{f.stem}.json").write_text(json.dumps(
            {"rows": len(n), "cut_at": {str(m): int((n > m - budget).sum())
                                        for m in CUT_LENGTHS}}, indent=1))
    return written


def runs(root: str | Path, tasks: Mapping[str, Task] | None = None) -> pd.DataFrame:
    """One row per committed run: setup, study, condition, seed, its files, and its metrics
    (``metrics``, read; a file written before the collapse guard gets its ``health``
    measured from the run's predictions, where committed, given the ``tasks``)."""
    rows = []
    for m in sorted(Path(root).glob("*/*/*/seed*/metrics.json")):
        setup, study, cond, seed = m.parts[-5:-1]
        predictions = m.parent / "predictions.parquet"
        metrics = read_json(m)
        if "health" not in metrics and predictions.exists() and tasks is not None:
            metrics["health"] = evaluation.evaluate(pd.read_parquet(predictions),
                                                    tasks)["health"]
        rows.append({"setup": setup, "study": study, "condition": cond,
                     "seed": int(seed.removeprefix("seed")), "dir": m.parent,
                     "metrics": metrics, "predictions": str(predictions),
                     "summary": str(m.parent / "train_summary.json")})
    return pd.DataFrame(rows)


def _minutes(files: Iterable[Path]) -> float:
    return sum(float(pd.read_csv(f, sep="\t")["s"].sum()) for f in files) / 60


def stage_times(root: Path, setup: str) -> pd.DataFrame:
    """Minutes per stage of one setup's runs (sum of the jobs' own wall times)."""
    base = root / setup
    rows = []
    for rule in ("fetch", "ingest", "split", "tokenize", "mlm_adapt"):
        files = list((base / "stages").glob(f"benchmarks__{rule}__*.tsv"))
        if files:
            rows.append({"stage": rule, "jobs": len(files), "minutes": _minutes(files)})
    for study in sorted(p.name for p in base.iterdir() if p.name in ("A", "B", "C")):
        for rule in ("train", "evaluate"):
            files = list((base / study).glob(f"*/seed*/{rule}.tsv"))
            if files:
                rows.append({"stage": f"{rule} (Study {study})", "jobs": len(files),
                             "minutes": _minutes(files)})
    return pd.DataFrame(rows)


def _setting(summary: dict, key: str) -> Any:
    return summary.get("settings", {}).get(key)


def describe_runs(table: pd.DataFrame) -> pd.DataFrame:
    """Machine, encoder, epochs, precision and seeds per setup and study."""
    rows = []
    for (setup, study), part in table.groupby(["setup", "study"]):
        summaries = [read_json(Path(d) / "train_summary.json") for d in part["dir"]]
        machines = {f"{s['machine']['cpu']}, {s['machine']['cores']} cores"
                    for s in summaries if "machine" in s}
        rows.append({"setup": setup, "study": study,
                     "conditions": part["condition"].nunique(),
                     "seeds": ", ".join(map(str, sorted(part["seed"].unique()))),
                     "encoder": ", ".join(sorted({_setting(s, "encoder") for s in summaries})),
                     "epochs": ", ".join(map(str, sorted({_setting(s, "epochs")
                                                          for s in summaries}))),
                     "device": ", ".join(sorted({s.get("device", "?") for s in summaries})),
                     "bf16": ", ".join(sorted({str(s.get("bf16_autocast", False))
                                               for s in summaries})),
                     "best at last epoch": f"{sum(_best_at_end(s) for s in summaries)}"
                                           f"/{len(summaries)}",
                     "machine": "; ".join(sorted(machines)),
                     "commits": ", ".join(sorted({_commit(s) for s in summaries})),
                     "current training code":
                         f"{sum(code_status(s) == 'current' for s in summaries)}"
                         f"/{len(summaries)}"})
    return pd.DataFrame(rows)


def collapsed_runs(table: pd.DataFrame, thresholds: dict) -> pd.DataFrame:
    """Every committed run whose test predictions collapsed, a row per collapsed task with
    what the guard saw (:func:`psymtl.health.describe`)."""
    from psymtl import health

    rows = [{"setup": r.setup, "study": r.study, "condition": r.condition, "seed": r.seed,
             "task": task, "test predictions": health.describe(r.metrics["health"]["test"][task])}
            for r in table.itertuples() for task in health.judge(r.metrics, thresholds)]
    return pd.DataFrame(rows)


def code_status(summary: dict) -> str:
    """``current`` when a run's training code is the code that ships, ``other`` when it
    differs, ``unrecorded`` for a run made before runs recorded it."""
    made_by = summary.get("code", {}).get("training_code")
    if made_by is None:
        return "unrecorded"
    return "current" if made_by == provenance.training_code() else "other"


def _commit(summary: dict) -> str:
    c = summary.get("code", {}).get("commit")
    return c[:10] + ("+dirty" if c.endswith("+dirty") else "") if c else "unrecorded"


def stale_runs(table: pd.DataFrame) -> pd.DataFrame:
    """The runs whose training code is not the current one, counted per setup, study and
    condition."""
    rows = []
    for r in table.itertuples():
        status = code_status(read_json(Path(r.dir) / "train_summary.json"))
        if status != "current":
            rows.append({"setup": r.setup, "study": r.study, "condition": r.condition,
                         "seed": r.seed, "training code": status})
    if not rows:
        return pd.DataFrame()
    out = pd.DataFrame(rows)
    return (out.groupby(["setup", "study", "condition", "training code"])["seed"]
            .agg(lambda s: ", ".join(map(str, sorted(s)))).rename("seeds").reset_index())


def _best_at_end(summary: dict) -> bool:
    """The run's best dev score came in its last epoch: still improving when it stopped."""
    return summary.get("best_epoch") == summary.get("epochs_run")


def inputs(root: Path, setup: str) -> pd.DataFrame:
    """Per dataset: posts, median tokens and the share of posts cut at each input length
    (:data:`CUT_LENGTHS`, recorded by :func:`collect`), else at the token cache's length."""
    rows = []
    for f in sorted((root / setup / "stages").glob("tokens__*__*.json")):
        info = read_json(f)
        row = {"dataset": f.name.split("__")[1], "tokenizer": info.get("encoder"),
               "posts": info["rows"], "median tokens": info["median_tokens"]}
        lengths = f.with_name(f.name.replace("tokens__", "lengths__", 1))
        if lengths.exists():
            cut = read_json(lengths)
            row |= {f"cut at {m}": f"{c / max(cut['rows'], 1):.0%}"
                    for m, c in cut["cut_at"].items() if int(m) <= info["max_length"]}
        else:
            row |= {f"cut at {info['max_length']}":
                    f"{info['truncated'] / max(info['rows'], 1):.0%}"}
        rows.append(row)
    return pd.DataFrame(rows)


def gaps(comp: pd.DataFrame, notes: dict[str, str]) -> list[str]:
    """Every difference from the paper above GAP, grouped under its explanation (the most
    specific note that matches) or "unexplained"."""
    grouped: dict[str, list[str]] = {}
    for r in comp.itertuples():
        if pd.notna(r.difference) and abs(r.difference) > GAP:
            keys = (f"{r.study}/{r.condition}/{r.task}/{r.metric}",
                    f"{r.study}/*/{r.task}/{r.metric}", f"{r.study}/*/{r.task}/*",
                    f"{r.study}/{r.condition}/*/*", f"{r.study}/*/*/*")
            why = next((notes[k] for k in keys if k in notes), "Unexplained.")
            grouped.setdefault(why, []).append(
                f"{r.condition} / {r.task} / {r.metric} {r.ours_mean:.3f} vs "
                f"{r.paper_mean:.3f} ({r.difference:+.3f})")
    return [f"- {'; '.join(found)}.\n  {why}" for why, found in grouped.items()]


def gap_factors(long: pd.DataFrame, comp: pd.DataFrame,
                controls: Mapping[str, Mapping[str, str]] | None = None) -> pd.DataFrame:
    """What closes the gap: for every gap above GAP to a paper value, each run that changes
    one factor of that condition (a sweep value, ``<condition>~<setting>=<value>``, or a
    declared control condition, ``controls: {control: {of: condition, factor: words}}``), its
    effect on the metric (the variant's mean minus the condition's over the healthy seeds,
    Welch 95% interval) and the gap that remains."""
    controls = controls or {}
    test = long[(long["split"] == "test") & (long["collapsed"] == "")]
    rows = []
    for r in comp.itertuples():
        if pd.isna(r.difference) or abs(r.difference) <= GAP:
            continue
        sel = test[(test["study"] == r.study) & (test["task"] == r.task)
                   & (test["metric"] == r.metric)]
        base = sel.loc[sel["condition"] == r.condition, "value"].to_numpy(float)
        variants = {c: c.partition(settings.SWEPT)[2] for c in sel["condition"].unique()
                    if c.startswith(r.condition + settings.SWEPT)}
        variants |= {c: f"{c}: {spec['factor']}" for c, spec in controls.items()
                     if spec.get("of") == r.condition and c in set(sel["condition"])}
        for variant, factor in sorted(variants.items()):
            v = sel.loc[sel["condition"] == variant, "value"].to_numpy(float)
            if not len(v) or not len(base):
                continue
            effect, interval = welch(v, base)
            rows.append({"condition": r.condition, "task": r.task, "metric": r.metric,
                         "gap": r.difference, "factor": factor,
                         "seeds": f"{len(v)} vs {len(base)}", "effect": effect,
                         "95% interval": interval,
                         "remaining gap": v.mean() - r.paper_mean})
    return pd.DataFrame(rows)


def welch(values: np.ndarray, base: np.ndarray) -> tuple[float, str]:
    """``values``' mean minus ``base``'s and its Welch 95% interval ("n/a (one seed)" where
    either side has a single value)."""
    from scipy import stats as sps

    effect = float(values.mean() - base.mean())
    if len(values) < 2 or len(base) < 2:
        return effect, "n/a (one seed)"
    va, vb = values.var(ddof=1) / len(values), base.var(ddof=1) / len(base)
    se = (va + vb) ** 0.5
    df = (va + vb) ** 2 / (va ** 2 / (len(values) - 1) + vb ** 2 / (len(base) - 1)) \
        if se > 0 else 1.0
    half = float(sps.t.ppf(0.975, df) * se)
    return effect, f"[{effect - half:+.3f}, {effect + half:+.3f}]"


def claim_metric_effects(long: pd.DataFrame, comparisons: list[dict[str, Any]],
                         study: str) -> pd.DataFrame:
    """Each gap run of a system the study's claims compare, on the claims' task and metric:
    the condition's mean, the gap run's, and the effect of the changed setting (Welch 95%
    interval over the healthy seeds), whether or not the condition has a gap to a paper."""
    test = long[(long["split"] == "test") & (long["collapsed"] == "") & (long["study"] == study)]
    keys = sorted({(c[side], c["task"], c["metric"]) for c in comparisons
                   if c["study"] == study for side in ("a", "b")})
    rows = []
    for cond, task, metric in keys:
        sel = test[(test["task"] == task) & (test["metric"] == metric)]
        base = sel.loc[sel["condition"] == cond, "value"].to_numpy(float)
        if not len(base):
            continue
        for variant in sorted(c for c in sel["condition"].unique()
                              if c.startswith(cond + settings.SWEPT)):
            v = sel.loc[sel["condition"] == variant, "value"].to_numpy(float)
            effect, interval = welch(v, base)
            rows.append({"condition": cond, "task": task, "metric": metric,
                         "factor": variant.partition(settings.SWEPT)[2],
                         "seeds": f"{len(v)} vs {len(base)}", "condition mean": base.mean(),
                         "gap run mean": v.mean(), "effect": effect, "95% interval": interval})
    return pd.DataFrame(rows)


def build(root: str | Path, out: str | Path, config: dict, paper: dict,
          notes: dict[str, Any], main: str = "main") -> str:
    """Write ``out`` (Markdown) and its figures into ``<out stem>/`` from the runs under
    ``root``; return the Markdown."""
    root, out = Path(root), Path(out)
    fig_dir = out.parent / out.stem
    fig_dir.mkdir(parents=True, exist_ok=True)
    tasks = datasets.tasks(config["datasets"])
    table = runs(root, tasks)
    md = [f"# {notes['title']}\n", notes["intro"].strip() + "\n",
          "Rebuild: `.venv/bin/python -m psymtl reproduction build` (from the committed runs "
          f"under `{root}`; `collect` adds a finished workflow's runs first, see README).\n",
          "## What ran\n", describe_runs(table).to_markdown(index=False) + "\n",
          notes.get("setup_note", "").strip() + "\n"]
    bad = collapsed_runs(table, config["health"])
    if len(bad):
        md += ["**Collapsed runs** (the collapse guard, `health` in the config: named here, "
               "never counted in a mean, a test or a claim):\n", bad.to_markdown(index=False)
               + "\n"]
    stale = stale_runs(table)
    if len(stale):
        md += ["**Runs not made by the current training code** (their training code differs "
               "from the code that ships, or was not recorded; rerun them before placing new "
               "seeds beside them):\n", stale.to_markdown(index=False) + "\n"]
    cut = inputs(root, main)
    if len(cut):
        md += ["### Inputs\n", cut.to_markdown(index=False) + "\n"]
    mine = table[table["setup"] == main]
    long = tables.collect(mine.to_dict("records"), config["health"])
    summary = tables.summarise(long)
    for study in sorted(set(mine["study"])):
        md.append(f"## Study {study}\n")
        md.append(notes.get(f"study_{study}", "").strip() + "\n")
        comp = tables.paper_comparison(summary, paper.get(study, {}), study)
        if len(comp):
            md.append(tables.paper_markdown(comp, paper[study]))
            found = gaps(comp, notes.get("gaps", {}))
            md.append("**Gaps above 0.03 on a headline metric.**\n\n" + (
                "\n".join(found) if found else "None.") + "\n")
            closing = gap_factors(long, comp, notes.get("controls"))
            if len(closing):
                md.append("**What closes the gap.** Each run that changes one factor of a "
                          "condition with a gap: its effect on the metric (mean over the "
                          "healthy seeds minus the condition's, Welch 95% interval) and the "
                          "gap to the paper that remains.\n\n"
                          + closing.to_markdown(index=False, floatfmt="+.3f") + "\n")
        moved = claim_metric_effects(long, config["stats"]["comparisons"], study)
        if len(moved):
            md.append("**The gap runs on the claims' metrics.** Each run that changes one "
                      "setting of a system the claims compare, on the claims' task and metric "
                      "(test set, healthy seeds; effect: its mean minus the condition's, Welch "
                      "95% interval), whether or not the condition has a gap to a paper.\n\n"
                      + moved.to_markdown(index=False, floatfmt=("",) * 5
                                          + (".3f", ".3f", "+.3f")) + "\n")
        part = summary[summary["study"] == study]
        shown = {m for t in part["task"].unique() for m in figures.headline_metrics(t, tasks)}
        if "f1" in shown:
            shown |= {"accuracy", "precision", "recall"}
        md.append("### All conditions, test set (mean ± sd over seeds; the metrics the paper "
                  "reports)\n\n" + tables.headline(part, shown).to_markdown(index=False) + "\n")
        png = fig_dir / f"{study}_metrics.png"
        figures.metric_per_condition(long, study, png, tasks)
        md.append(f"![Study {study} test metrics]({fig_dir.name}/{png.name})\n")
        md += _study_figures(mine, study, fig_dir)
    md += _significance(mine, config, tasks)
    longer = (table["setup"] == main) & table["condition"].str.startswith(
        f"hdln_learned{settings.SWEPT}epochs=")
    md += _weight_lr_sweep(table[(table["setup"] == WEIGHTS_LR) | longer], fig_dir, notes,
                           config["health"])
    md += _setups(table[~table["setup"].isin([FP32, WEIGHTS_LR])], notes)
    md += _precision(table, main, notes, config["stats"]["equivalence_margin"])
    md.append("## Time per stage\n\n" + notes.get("time_note", "").strip() + "\n")
    for setup in sorted(set(table["setup"])):
        t = stage_times(root, setup)
        if len(t):
            md.append(f"**{setup}** (minutes, summed over jobs; total "
                      f"{t['minutes'].sum():.1f} min)\n\n"
                      + t.to_markdown(index=False, floatfmt=".1f") + "\n")
    text = "\n".join(md)
    out.write_text(text)
    return text


def _study_figures(runs_: pd.DataFrame, study: str, fig_dir: Path) -> list[str]:
    md = []
    for cond, part in runs_[runs_["study"] == study].groupby("condition"):
        logs_ = [Path(d) / "train_log.csv" for d in part["dir"]]
        head = pd.read_csv(logs_[0], nrows=1)
        learned = [c for c in head.columns if c.startswith("w_")]
        cond_settings = read_json(Path(part["dir"].iloc[0]) / "train_summary.json")["settings"]
        w = cond_settings.get("weighting", {})
        if learned and (w.get("kind") == "kendall" or w.get("learn")):
            png = fig_dir / f"{study}_{cond}_loss_weights.png"
            figures.weight_trajectories(logs_, png, f"Study {study}, {cond}: learned loss "
                                        "weights (mean over seeds, band min..max)")
            md.append(f"![{cond} loss weights]({fig_dir.name}/{png.name})\n")
        preds = pd.read_parquet(part["predictions"].iloc[0])
        if any(c.startswith("alpha_shared_") for c in preds.columns):
            png = fig_dir / f"{study}_{cond}_attention.png"
            described = figures.attention_weights(part["predictions"], png)
            md.append(f"![{cond} attention]({fig_dir.name}/{png.name})\n\n"
                      + described.to_markdown(floatfmt=".3f") + "\n")
    return md


def _significance(runs_: pd.DataFrame, config: dict, tasks: Mapping[str, Task]) -> list[str]:
    st = config["stats"]
    present = {(r.study, r.condition) for r in runs_.itertuples()}
    comps = [c for c in st["comparisons"]
             if {(c["study"], c["a"]), (c["study"], c["b"])} <= present]
    if not comps:
        return []
    run_list = [{"study": r.study, "condition": r.condition, "seed": r.seed,
                 "metrics": r.metrics, "predictions": r.predictions, "summary": r.summary}
                for r in runs_.itertuples()]
    test_settings = {k: v for k, v in st.items() if k != "comparisons"}
    result = stats.table(comps, run_list, test_settings, config["health"], tasks)
    md = ["## Significance\n", tables.significance_markdown(result, st)
          .replace("# Headline claims", "### Headline claims").replace("# Tests", "### Tests")]
    swept = swept_comparisons(comps, present)
    if swept:
        result = stats.table(swept, run_list, test_settings, config["health"], tasks)
        md += ["### The claims again under the gap runs' settings\n",
               "Each claim above again where both of its systems ran with the same setting "
               "changed (the gap runs, e.g. both trained 6 epochs): the same comparison, "
               "verdict rules and tests, corrected within these comparisons of each study. "
               "They show whether a finding holds under the setting that closes a gap; they "
               "neither replace the claims above nor enter their correction.\n",
               result[tables.CLAIM_COLUMNS].to_markdown(index=False, floatfmt=".4f") + "\n",
               result[tables.TEST_COLUMNS].to_markdown(index=False, floatfmt=".4f") + "\n"]
    return md


def swept_comparisons(comparisons: list[dict[str, Any]],
                      present: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """Each comparison again at every swept setting with which both of its systems ran
    (``hdln~epochs=6`` vs ``flat~epochs=6``): the two still differ only in what the
    comparison is about, since the sweep changed both alike."""
    out = []
    for comp in comparisons:
        for study, name in sorted(present):
            base, mark, swept = name.partition(settings.SWEPT)
            partner = f"{comp['b']}{mark}{swept}"
            if mark and (study, base) == (comp["study"], comp["a"]) \
                    and (study, partner) in present:
                out.append({**comp, "a": name, "b": partner,
                            "claim": f"{comp['claim']}; both at {swept}"})
    return out




def weight_lr_choice(table: pd.DataFrame, thresholds: dict) -> pd.DataFrame:
    """Per learning rate and training length of the learned loss weights: seeds, collapsed
    seeds, the dev selection score (mean ± sd over the healthy seeds; what the choice is made
    on), test duration intersection, the weights at the end of training and the largest
    distance of a weight from its start (``drift``; means over seeds; ``learns``: by at least
    :data:`psymtl.stats.MIN_DRIFT`). ``chosen``, among the runs of setup ``weights_lr`` (the
    sweep, at the configured training length; other rows are shown beside it): the weights
    should learn as far as they can without costing health or dev score, so among the values
    with the fewest collapsed seeds, those whose dev score is within one seed sd of their best,
    the one whose weights drift most."""
    return _weight_choice(_weight_runs(table, thresholds))


def _weight_runs(table: pd.DataFrame, thresholds: dict) -> pd.DataFrame:
    """One row per run: its weights' rate and training length, health, scores and weights."""
    from psymtl import health

    rows = []
    for r in table.itertuples():
        summary = read_json(Path(r.dir) / "train_summary.json")
        log = pd.read_csv(Path(r.dir) / "train_log.csv")
        rows.append({"lr": summary["settings"]["weighting"]["lr"],
                     "epochs": summary["settings"].get("epochs"), "seed": r.seed,
                     "sweep": r.setup == WEIGHTS_LR, "log": Path(r.dir) / "train_log.csv",
                     "collapsed": bool(health.judge(r.metrics, thresholds)),
                     "dev": summary["best"],
                     "test": r.metrics["test"]["temporal"]["intersection"],
                     "drift": stats.weight_drift(log),
                     **{k: log[c].iloc[-1] for k, c in (("gamma_g lonely", "w_gamma_g/lonely"),
                                                        ("gamma_l lonely", "w_gamma_l/lonely"),
                                                        ("lambda global", "w_lambda/global"))}})
    return pd.DataFrame(rows)


def _weight_choice(runs_: pd.DataFrame) -> pd.DataFrame:
    if runs_.empty:
        return pd.DataFrame()
    out = []
    for (lr, epochs, sweep), g in runs_.groupby(["lr", "epochs", "sweep"], dropna=False):
        ok = g[~g["collapsed"]]
        out.append({"weights lr": f"{lr:g}", "epochs": epochs, "sweep": sweep,
                    "seeds": len(g),
                    "collapsed seeds": " ".join(map(str, sorted(g.loc[g["collapsed"], "seed"]))),
                    "dev score": tables.fmt(ok["dev"].mean(), ok["dev"].std()),
                    "dev mean": ok["dev"].mean(), "dev sd": ok["dev"].std(),
                    "test duration intersection": tables.fmt(ok["test"].mean(),
                                                             ok["test"].std()),
                    **{f"final {k}": g[k].mean() for k in ("gamma_g lonely", "gamma_l lonely",
                                                          "lambda global")},
                    "drift": g["drift"].mean()})
    out = pd.DataFrame(out)
    out["learns"] = out["drift"] >= stats.MIN_DRIFT
    n_bad = out["collapsed seeds"].str.split().str.len()
    candidates = out["sweep"] & out["dev mean"].notna()
    fewest = out[candidates & (n_bad == n_bad[candidates].min())]
    out["chosen"] = False
    if len(fewest):
        best = fewest.loc[fewest["dev mean"].idxmax()]
        near = fewest[fewest["dev mean"] >= best["dev mean"] - np.nan_to_num(best["dev sd"])]
        out.loc[near["drift"].idxmax(), "chosen"] = True
    return out.drop(columns=["dev mean", "dev sd", "sweep"])


def _weight_lr_sweep(table: pd.DataFrame, fig_dir: Path, notes: dict,
                     thresholds: dict) -> list[str]:
    runs_ = _weight_runs(table, thresholds)
    choice = _weight_choice(runs_)
    if choice.empty:
        return []
    png = fig_dir / "C_weights_lr_sweep.png"
    figures.weight_sweep({f"lr {lr:g}, {ep} epochs": list(g["log"])
                          for (lr, ep), g in runs_.groupby(["lr", "epochs"])},
                         png, "Study C, hdln_learned: learned loss weights per step for each "
                         "weight learning rate and training length (mean over seeds, band "
                         "min..max)")
    return ["## Learned loss weights: their learning rate\n",
            notes.get("weights_lr_note", "").strip() + "\n",
            choice.to_markdown(index=False, floatfmt=".3f", disable_numparse=[0]) + "\n",
            f"![learned-weight learning-rate sweep]({fig_dir.name}/{png.name})\n"]


def _setups(table: pd.DataFrame, notes: dict) -> list[str]:
    """Study B under each Pirina data setup: depression F1 on dev and test."""
    b = table[table["study"] == "B"]
    if b["setup"].nunique() < 2:
        return []
    rows = []
    for (setup, cond), part in b.groupby(["setup", "condition"]):
        for split in ("dev", "test"):
            vals = [m[split]["depression"]["f1"] for m in part["metrics"]
                    if "depression" in m.get(split, {})]
            if vals:
                s = pd.Series(vals)
                rows.append({"setup": setup, "condition": cond, "split": split,
                             "seeds": len(vals), "F1": tables.fmt(s.mean(), s.std())})
    wide = (pd.DataFrame(rows).pivot_table(index=["condition", "setup"], columns="split",
                                           values="F1", aggfunc="first").reset_index())
    return ["## Study B: which posts are tested on\n",
            notes.get("setups_note", "").strip() + "\n",
            wide.to_markdown(index=False) + "\n"]


def precision(table: pd.DataFrame, main: str = "main") -> pd.DataFrame:
    """Each fp32 twin's dev selection score (``best`` in its train summary) beside the bf16
    run of the same condition and seed, and the sd of the bf16 runs over their seeds."""
    rows = []
    for r in table[table["setup"] == FP32].itertuples():
        ref = table[(table["setup"] == main) & (table["study"] == r.study)
                    & (table["condition"] == r.condition)]
        bf16 = {int(x.seed): read_json(Path(x.dir) / "train_summary.json") for x in
                ref.itertuples()}
        twin = read_json(Path(r.dir) / "train_summary.json")
        if r.seed not in bf16 or twin.get("bf16_autocast") or not bf16[r.seed].get(
                "bf16_autocast"):
            continue
        scores = pd.Series([s["best"] for s in bf16.values()])
        rows.append({"study": r.study, "condition": r.condition, "seed": r.seed,
                     "dev fp32": twin["best"], "dev bf16": bf16[r.seed]["best"],
                     "bf16 - fp32": bf16[r.seed]["best"] - twin["best"],
                     "bf16 sd over seeds": scores.std(), "seeds": len(scores)})
    return pd.DataFrame(rows)


def _precision(table: pd.DataFrame, main: str, notes: dict, margin: float) -> list[str]:
    diff = precision(table, main)
    if diff.empty:
        return []
    gap, sd = diff["bf16 - fp32"].abs().mean(), diff["bf16 sd over seeds"].mean()
    d = diff["bf16 - fp32"].to_numpy()
    tost = (f" Paired equivalence test (TOST) of the mean difference, {d.mean():+.4f}, "
            f"against the margin +/-{margin}: p = {stats.tost_seeds(d, margin):.4f}."
            if len(d) > 1 else "")
    return ["## bf16 autocast vs fp32 on the CPU\n", notes.get("precision_note", "").strip()
            + "\n", diff.to_markdown(index=False, floatfmt=".4f") + "\n",
            f"Mean |bf16 - fp32| of the dev score: {gap:.4f}; mean sd of the bf16 runs over "
            f"seeds: {sd:.4f} ({len(diff)} runs).{tost}\n"]


def load_inputs(workdir: str | Path = ".") -> tuple[dict, dict, dict]:
    """The config, the papers' numbers and the report's notes."""
    import yaml

    workdir = Path(workdir)
    config = settings.load([], workdir)
    paper = yaml.safe_load((workdir / "resources" / "paper_values.yaml").read_text())
    notes = yaml.safe_load((workdir / "docs" / "reproduction" / "notes.yaml").read_text())
    return config, paper, notes


def machine_line(root: str | Path) -> str:
    """The machines the committed runs ran on (for the README)."""
    seen = set()
    for f in Path(root).glob("*/*/*/seed*/train_summary.json"):
        m = json.loads(f.read_text()).get("machine")
        if m:
            seen.add(f"{m['cpu']} ({m['cores']} cores)")
    return "; ".join(sorted(seen))
