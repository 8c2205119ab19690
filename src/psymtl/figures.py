"""Figures of the report (matplotlib, headless)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from psymtl import predictions as P
from psymtl.tasks import Task


def _seed(path: str | Path) -> str:
    return Path(path).parent.name


def attention_weights(prediction_files: Iterable[str | Path], out: str | Path) -> pd.DataFrame:
    """Distribution of alpha_shared (the attention on the shared representation; alpha_task =
    1 - alpha_shared) per task and gold label, test posts of every seed pooled."""
    rows = []
    for f in prediction_files:
        df = pd.read_parquet(f)
        df = df[df["split"] == "test"]
        for col in [c for c in df.columns if c.startswith("alpha_shared_")]:
            task = col.removeprefix("alpha_shared_")
            own = P.with_target(df, task)
            rows.append(pd.DataFrame({"task": task, "label": own[P.column(task, P.TARGET)],
                                      "alpha_shared": own[col], "seed": _seed(f)}))
    data = pd.concat(rows, ignore_index=True)
    groups = list(data.groupby(["task", "label"]))
    fig, ax = plt.subplots(figsize=(1.6 * len(groups) + 2, 3.5))
    ax.violinplot([g["alpha_shared"].to_numpy() for _, g in groups], showmedians=True)
    ax.set_xticks(range(1, len(groups) + 1),
                  [f"{t}\nlabel {int(lbl)}" for (t, lbl), _ in groups])
    ax.set_ylim(0, 1)
    ax.set_ylabel(r"$\alpha_{shared}$ (attention on shared features)")
    ax.set_title("Attention Fusion: weight of the shared representation, test posts")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return data.groupby(["task", "label"])["alpha_shared"].describe()


def _weight_panels(columns: Iterable[str]) -> dict[str, list[str]]:
    """The logged loss-weight columns (``w_...``) by weight group (Gamma_G, Gamma_L, Lambda;
    or one group of Kendall weights)."""
    panels: dict[str, list[str]] = {}
    for c in columns:
        if c.startswith("w_"):
            panels.setdefault(c[2:].split("/")[0] if "/" in c else "weights", []).append(c)
    return panels


def _panel_title(group: str) -> str:
    return (group.replace("gamma_g", r"$\Gamma_G$").replace("gamma_l", r"$\Gamma_L$")
            .replace("lambda", r"$\Lambda$"))


def _plot_weights(ax, logs: list[pd.DataFrame], names: list[str]) -> None:
    """Each weight's mean over the runs per logged step, band = min..max."""
    steps = min(len(d) for d in logs)
    x = logs[0]["step"].to_numpy()[:steps]
    for c in names:
        v = np.stack([d[c].to_numpy()[:steps] for d in logs])
        ax.plot(x, v.mean(0), label=c[2:].split("/")[-1])
        ax.fill_between(x, v.min(0), v.max(0), alpha=0.2)


def weight_trajectories(log_files: Iterable[str | Path], out: str | Path,
                        title: str) -> None:
    """Learned loss weights per training step (mean over seeds, band = min..max), one panel
    per weight group (e.g. Gamma_G, Gamma_L, Lambda; or one panel of Kendall weights)."""
    logs = [pd.read_csv(f) for f in log_files]
    panels = _weight_panels(logs[0].columns)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, (group, names) in zip(axes[0], panels.items(), strict=True):
        _plot_weights(ax, logs, names)
        ax.set_title(_panel_title(group))
        ax.set_xlabel("training step")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("weight")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def weight_sweep(logs_by_value: dict[str, list[str | Path]], out: str | Path,
                 title: str) -> None:
    """Learned loss weights per training step for each value of a sweep (a row per value:
    mean over its seeds, band = min..max), to set beside the paper's trajectory figure."""
    values = list(logs_by_value)
    logs = {v: [pd.read_csv(f) for f in logs_by_value[v]] for v in values}
    panels = _weight_panels(logs[values[0]][0].columns)
    fig, axes = plt.subplots(len(values), len(panels),
                             figsize=(3.8 * len(panels), 2.6 * len(values)), squeeze=False,
                             sharey=True)
    for row, v in zip(axes, values, strict=True):
        for ax, (group, names) in zip(row, panels.items(), strict=True):
            _plot_weights(ax, logs[v], names)
            ax.set_title(f"{_panel_title(group)}, {v}", fontsize=8)
            ax.set_ylim(0, 1)
        row[0].set_ylabel("weight")
    for ax in axes[-1]:
        ax.set_xlabel("training step")
    for ax in axes[0]:
        ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


# The metrics each paper reports per task (others: the task kind's primary metric).
HEADLINE = {"lonely": ("f1",),
            **{t: ("accuracy", "clark", "canberra", "cosine", "intersection")
               for t in ("temporal", "interaction", "context_pri", "interpersonal_pri")},
            "subscales_mean": ("f1_weighted",), "emotion": ("f1_weighted",),
            "emotion_soft": ("f1_weighted",)}


def headline_metrics(task: str, tasks: Mapping[str, Task]) -> tuple[str, ...]:
    """The metrics shown for ``task``: the paper's, else its kind's primary (from ``tasks``)."""
    return HEADLINE.get(task) or (tasks[task].kind.primary,)


def metric_per_condition(long: pd.DataFrame, study: str, out: str | Path,
                         tasks: Mapping[str, Task]) -> None:
    """Test metrics per condition: every seed as a point, the mean of the healthy seeds as a
    line across them (with a handful of seeds an interval says little; the points show the
    spread; no bars, since the axis does not start at 0); a collapsed run (``collapsed`` not
    empty) is a red cross, outside the mean. One panel per task and metric the paper
    reports."""
    from psymtl.metrics import LOWER_IS_BETTER

    part = long[(long["study"] == study) & (long["split"] == "test")]
    shown = sorted(part["task"].unique(), key=lambda t: (t != "lonely", t))
    panels = [(t, m) for t in shown for m in headline_metrics(t, tasks)
              if ((part["task"] == t) & (part["metric"] == m)).any()]
    cols = min(len(panels), 5)
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(max(3.0 * cols, 6.5), 3.3 * rows),
                             squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, (task, metric) in zip(axes.flat, panels, strict=False):
        sel = part[(part["task"] == task) & (part["metric"] == metric)]
        conds = sorted(sel["condition"].unique())
        ok = sel["collapsed"] == ""
        means = [sel.loc[ok & (sel["condition"] == c), "value"].mean() for c in conds]
        ax.hlines(means, np.arange(len(conds)) - 0.3, np.arange(len(conds)) + 0.3,
                  color="#c0392b", lw=2, zorder=2)
        for i, c in enumerate(conds):
            mine = sel[sel["condition"] == c]
            x = np.full(len(mine), i) + np.linspace(-0.15, 0.15, len(mine))
            good = (mine["collapsed"] == "").to_numpy()
            ax.scatter(x[good], mine["value"].to_numpy()[good], s=12, color="#1f3b73",
                       zorder=3)
            ax.scatter(x[~good], mine["value"].to_numpy()[~good], s=18, marker="x",
                       color="#c0392b", zorder=3)
        lo, hi = sel["value"].min(), sel["value"].max()
        pad = 0.15 * (hi - lo) or 0.05
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_xticks(range(len(conds)), conds, rotation=45, ha="right", fontsize=7)
        arrow = "lower is better" if metric in LOWER_IS_BETTER else "higher is better"
        ax.set_title(f"{task}: {metric}\n({arrow})", fontsize=8)
    n = int(part.groupby(["condition"])["seed"].nunique().max()) if len(part) else 0
    fig.suptitle(f"Study {study}: test metrics, each seed a point, red line = mean of the "
                 f"healthy seeds (n <= {n} seeds; red cross: a collapsed run, not counted)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def reliability(prediction_files: dict[str, list[str]], task: str, out: str | Path,
                bins: int = 10) -> pd.DataFrame:
    """Reliability diagram (confidence vs accuracy against ``task``'s labels) per condition,
    seeds pooled, with the expected calibration error (ECE)."""
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=1)
    rows = []
    edges = np.linspace(0, 1, bins + 1)
    for cond, files in prediction_files.items():
        conf, correct = [], []
        for f in files:
            df = pd.read_parquet(f)
            df = P.with_target(df, task, "test")
            p = np.stack(df[P.column(task, P.PRED)])
            conf.append(p.max(-1))
            correct.append(p.argmax(-1) == df[P.column(task, P.TARGET)].to_numpy(int))
        c, k = np.concatenate(conf), np.concatenate(correct)
        which = np.clip(np.digitize(c, edges) - 1, 0, bins - 1)
        acc = np.array([k[which == b].mean() if (which == b).any() else np.nan
                        for b in range(bins)])
        mid = np.array([c[which == b].mean() if (which == b).any() else np.nan
                        for b in range(bins)])
        ece = float(sum((which == b).sum() / len(c) * abs(acc[b] - mid[b])
                        for b in range(bins) if (which == b).any()))
        ax.plot(mid, acc, marker="o", label=f"{cond} (ECE {ece:.3f})")
        rows.append({"condition": cond, "ece": ece, "mean_confidence": float(c.mean()),
                     "accuracy": float(k.mean()), "n": len(c)})
    ax.set_xlabel("confidence (max probability)")
    ax.set_ylabel(f"accuracy against {task} labels")
    ax.set_title("Calibration, test posts")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return pd.DataFrame(rows)


UNIT_INTERVAL = {"accuracy", "precision", "recall", "f1", "f1_weighted", "f1_macro",
                 "cosine", "intersection"}  # metrics bounded by [0, 1]


def sensitivity(table: pd.DataFrame, sweep: dict, out: str | Path,
                tasks: Mapping[str, Task], split: str = "test") -> None:
    """A sweep: each headline metric of each task on ``split`` against the swept value, mean
    with its 95% t-interval over the healthy seeds, every healthy seed a faint point, the
    number of collapsed seeds written under each value, the configured value marked."""
    from psymtl.metrics import LOWER_IS_BETTER

    table = table[table["split"] == split]
    values = list(sweep["values"])
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if numeric:
        xs = [float(v) for v in values]
        log = min(xs) > 0 and max(xs) / min(xs) >= 20
    else:
        xs, log = list(range(len(values))), False
    pos = dict(zip(sweep["runs"], xs, strict=True))
    shown = sorted(table["task"].unique(), key=lambda t: (t != "lonely", t))
    panels = [(t, m) for t in shown for m in headline_metrics(t, tasks)
              if ((table["task"] == t) & (table["metric"] == m)).any()]
    cols = min(len(panels), 4) or 1
    rows = -(-len(panels) // cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(max(3.4 * cols, 5.0), 3.2 * rows),
                             squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    own_x = pos.get(sweep["condition"])
    for ax, (task, metric) in zip(axes.flat, panels, strict=False):
        sel = table[(table["task"] == task) & (table["metric"] == metric)]
        x = [pos[r] for r in sel["run"]]
        for xi, seeds in zip(x, sel["seeds"], strict=True):
            v = [float(s) for s in str(seeds).split()]
            ax.scatter([xi] * len(v), v, s=9, color="#9aa7c7", zorder=2)
        lo, hi = sel["ci_low"].to_numpy(), sel["ci_high"].to_numpy()
        if metric in UNIT_INTERVAL:  # a t-interval over few seeds can leave [0, 1]: clip it
            lo, hi = np.clip(lo, 0, 1), np.clip(hi, 0, 1)
        err = np.vstack([sel["mean"] - lo, hi - sel["mean"]])
        ax.ticklabel_format(axis="y", useOffset=False)
        ax.errorbar(x, sel["mean"], yerr=np.nan_to_num(err), color="#1f3b73", marker="o",
                    ms=4, capsize=3, zorder=3)
        for xi, bad in zip(x, sel["collapsed_seeds"], strict=True):
            if str(bad).strip():
                ax.annotate(f"{len(str(bad).split())} collapsed", (xi, 0), fontsize=6,
                            color="#c0392b", xycoords=("data", "axes fraction"),
                            xytext=(0, 2), textcoords="offset points", ha="center")
        if own_x is not None:
            ax.axvline(own_x, color="#c0392b", ls="--", lw=1, zorder=1)
        if log:
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(xs, [str(v) for v in values], rotation=30, ha="right", fontsize=7)
        arrow = "lower is better" if metric in LOWER_IS_BETTER else "higher is better"
        ax.set_title(f"{task}: {metric} ({arrow})", fontsize=8)
        ax.set_xlabel(sweep["setting"], fontsize=7)
    n = int(table["n_seeds"].max()) if len(table) else 0
    fig.suptitle(f"Study {sweep['study']}, {sweep['condition']}: sensitivity to "
                 f"{sweep['setting']} ({split} set)\nmean, 95% t-interval over n <= {n} "
                 "healthy seeds (clipped to range), seeds as points; collapsed runs counted, "
                 "not shown; dashed: configured value",
                 fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
