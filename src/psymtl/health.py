"""Is a trained model healthy? The collapse guard.

A model whose predictions collapse onto one class (or, for a regression task, onto one value)
scores the majority share on accuracy and says nothing about the task; no claim may rest on
it. Evaluation records, per split and task, what the guard needs (:func:`measure`, stored in
``metrics.json`` under ``health``); whether that is a collapse is judged with the thresholds
of the config's ``health`` section (:func:`judge`), by every table, test and card that reads
the run, so that editing a threshold re-judges without retraining.

Measurements:
- classification and distribution tasks: the share of the most frequent predicted class
  (argmax for distributions) beside the gold share of that same class and of the gold's own
  most frequent class, and how many classes are predicted at all;
- regression tasks: the standard deviation of the predictions beside the target's.

A task collapsed (:func:`judge`) when only one class is predicted while the gold has more, or
when the top predicted class takes at least ``max_class_share`` of the posts and exceeds its
gold share by at least ``min_excess``; a regression task when the predictions' sd is below
``min_sd_ratio`` times the target's. A run is collapsed when any of its test tasks is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

DEFAULTS = {"max_class_share": 0.95, "min_excess": 0.10, "min_sd_ratio": 0.10}
SPLIT = "test"  # the split whose health decides whether a run counts


def measure(target: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """What the guard needs of one task's predictions: ``target`` and ``pred`` as the task's
    kind stacks them (class ids or distributions, and probabilities or distributions; a
    regression task's values are 1-D predictions)."""
    n = len(target)
    if pred.ndim == 1:
        return {"n": n, "pred_sd": float(np.std(pred)), "gold_sd": float(np.std(target))}
    k = pred.shape[-1]
    gold = target.astype(int) if target.ndim == 1 else target.argmax(-1)
    pred_counts = np.bincount(pred.argmax(-1), minlength=k)
    gold_counts = np.bincount(gold, minlength=k)
    top = int(pred_counts.argmax())
    return {"n": n, "top_class": top, "top_share": float(pred_counts[top] / n),
            "gold_share_of_top": float(gold_counts[top] / n),
            "gold_top_share": float(gold_counts.max() / n),
            "classes_predicted": int((pred_counts > 0).sum()),
            "classes_gold": int((gold_counts > 0).sum())}


def collapsed(m: Mapping[str, float], thresholds: Mapping[str, float]) -> bool:
    """Whether one task's measurements (:func:`measure`) show a collapse."""
    t = {**DEFAULTS, **thresholds}
    if "pred_sd" in m:
        return bool(m["gold_sd"] > 0 and m["pred_sd"] < t["min_sd_ratio"] * m["gold_sd"])
    if m["classes_predicted"] <= 1 < m["classes_gold"]:
        return True
    return bool(m["top_share"] >= t["max_class_share"]
                and m["top_share"] - m["gold_share_of_top"] >= t["min_excess"])


def judge(metrics: Mapping[str, Any], thresholds: Mapping[str, float],
          split: str = SPLIT) -> list[str]:
    """The tasks of a run (its ``metrics.json``) whose ``split`` predictions collapsed. A
    file written before the guard existed has no measurements: nothing is flagged."""
    per_task = metrics.get("health", {}).get(split, {})
    return sorted(task for task, m in per_task.items() if collapsed(m, thresholds))


def describe(m: Mapping[str, float]) -> str:
    """One task's measurements in words, for tables and cards."""
    if "pred_sd" in m:
        return f"prediction sd {m['pred_sd']:.3g} vs target sd {m['gold_sd']:.3g}"
    return (f"{m['top_share']:.0%} of posts predicted class {m['top_class']} "
            f"(gold {m['gold_share_of_top']:.0%}; gold majority {m['gold_top_share']:.0%})")
