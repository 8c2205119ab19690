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
