"""Figures of the report (matplotlib, headless)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


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
            own = df[f"{task}__present"].to_numpy(bool)
            rows.append(pd.DataFrame({"task": task, "label": df.loc[own, f"{task}__target"],
                                      "alpha_shared": df.loc[own, col], "seed": _seed(f)}))
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


def weight_trajectories(log_files: Iterable[str | Path], out: str | Path,
                        title: str) -> None:
    """Learned loss weights per training step (mean over seeds, band = min..max), one panel
    per weight group (e.g. Gamma_G, Gamma_L, Lambda; or one panel of Kendall weights)."""
    logs = [pd.read_csv(f) for f in log_files]
    cols = [c for c in logs[0].columns if c.startswith("w_")]
    panels: dict[str, list[str]] = {}
    for c in cols:
        panels.setdefault(c[2:].split("/")[0] if "/" in c else "weights", []).append(c)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    steps = min(len(d) for d in logs)
    for ax, (group, names) in zip(axes[0], panels.items(), strict=True):
        for c in names:
            v = np.stack([d[c].to_numpy()[:steps] for d in logs])
            x = np.arange(1, steps + 1)
            ax.plot(x, v.mean(0), label=c[2:].split("/")[-1])
            ax.fill_between(x, v.min(0), v.max(0), alpha=0.2)
        ax.set_title(group.replace("gamma_g", r"$\Gamma_G$").replace("gamma_l", r"$\Gamma_L$")
                     .replace("lambda", r"$\Lambda$"))
        ax.set_xlabel("training step")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("weight")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def metric_per_condition(long: pd.DataFrame, study: str, out: str | Path) -> None:
    """Test metric per condition, mean over seeds with a 95% t confidence interval; one panel
    per task (its kind's primary metric)."""
    from scipy import stats as sps

    from psymtl.metrics import PRIMARY
    from psymtl.tasks import get

    part = long[(long["study"] == study) & (long["split"] == "test")]
    tasks = sorted(part["task"].unique())
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.2 * len(tasks), 3.6), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        metric = "f1_weighted" if task == "subscales_mean" else PRIMARY[get(task).kind]
        sel = part[(part["task"] == task) & (part["metric"] == metric)]
        g = sel.groupby("condition")["value"]
        mean, sd, n = g.mean(), g.std(), g.count()
        half = [sps.t.ppf(0.975, k - 1) * s / np.sqrt(k) if k > 1 else 0.0
                for s, k in zip(sd.fillna(0), n, strict=True)]
        ax.bar(range(len(mean)), mean.to_numpy(), yerr=half, capsize=3, color="#4c72b0")
        ax.set_xticks(range(len(mean)), mean.index, rotation=45, ha="right", fontsize=7)
        ax.set_title(f"{task}: {metric}", fontsize=9)
    fig.suptitle(f"Study {study}: test metrics, mean over seeds, 95% CI")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
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
            df = df[(df["split"] == "test") & df[f"{task}__present"]]
            p = np.stack(df[f"{task}__pred"])
            conf.append(p.max(-1))
            correct.append(p.argmax(-1) == df[f"{task}__target"].to_numpy(int))
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
