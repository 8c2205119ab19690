"""Prediction tasks: what each head predicts, from which dataset column, and its loss."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from psymtl.labels import CANCER_EMOTIONS, FIG_CATEGORIES

if TYPE_CHECKING:  # numpy and pandas load when targets are built, not when the DAG names tasks
    import numpy as np
    import pandas as pd


@dataclass(frozen=True)
class Task:
    name: str
    kind: str  # classification | distribution | regression
    dataset: str
    column: str
    classes: tuple[str, ...] = ()
    peers: tuple[str, ...] = ()  # tasks with the same classes whose targets we also score


    @property
    def n_out(self) -> int:
        return 1 if self.kind == "regression" else len(self.classes)

    def targets(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Targets as an array and a boolean 'present' mask (missing rows are masked)."""
        import numpy as np
        import pandas as pd

        n = len(df)
        if self.column not in df:
            return _empty(self, n), np.zeros(n, dtype=bool)
        col = df[self.column]
        if self.kind == "classification":
            if pd.api.types.is_numeric_dtype(col):
                y = col.astype("Float64").fillna(-1).to_numpy(dtype=np.int64)
            else:
                index = {c: i for i, c in enumerate(self.classes)}
                y = col.map(index).astype("Float64").fillna(-1).to_numpy(dtype=np.int64)
            return y, y >= 0
        if self.kind == "regression":
            y = col.astype("Float64").to_numpy(dtype=np.float32, na_value=np.nan)
            return y, ~np.isnan(y)
        out = _empty(self, n)
        present = np.zeros(n, dtype=bool)
        for i, v in enumerate(col):
            if v is None or (not isinstance(v, list | np.ndarray) and pd.isna(v)):
                continue
            v = np.asarray(v, dtype=np.float64)
            if v.sum() > 0:  # e.g. fine-grained votes of non-lonely posts are all zero
                out[i] = v / v.sum()
                present[i] = True
        return out, present


def _empty(task: Task, n: int) -> np.ndarray:
    import numpy as np

    if task.kind == "distribution":
        return np.zeros((n, task.n_out), dtype=np.float32)
    return np.full(n, -1 if task.kind == "classification" else np.nan)


_BINARY = ("no", "yes")
LEVELS = ("none", "low", "moderate", "high")
ROLES = ("patient", "caregiver", "other")
CANCERS = ("brain", "colon", "liver", "leukemia", "lung", "other/unknown")
SUBSCALES = ("treatment_burden", "financial_strain", "uncertainty", "unmet_support_needs")
REGISTRY: dict[str, Task] = {
    # Study A: human emotion label (hard) and the LLM's emotion distribution (soft); each is
    # also scored against the other's targets
    "emotion": Task("emotion", "classification", "cancer", "emotion", CANCER_EMOTIONS,
                    peers=("emotion_soft",)),
    "emotion_soft": Task("emotion_soft", "distribution", "cancer", "emotion_probs",
                         CANCER_EMOTIONS, peers=("emotion",)),
    "burden": Task("burden", "regression", "cancer", "composite_burden"),
    "high_need": Task("high_need", "classification", "cancer", "high_need", _BINARY),
    **{s: Task(s, "classification", "cancer", s, LEVELS) for s in SUBSCALES},
    "role": Task("role", "classification", "cancer", "speaker_role", ROLES),
    "cancer_type": Task("cancer_type", "classification", "cancer", "cancer_type", CANCERS),
    "depression": Task("depression", "classification", "pirina", "depression", _BINARY),
    "stress": Task("stress", "classification", "dreaddit", "stress", _BINARY),
    **{c: Task(c, "distribution", "fig_loneliness", c, names)
       for c, names in FIG_CATEGORIES.items()},
}


def get(name: str) -> Task:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known: {sorted(REGISTRY)}") from None
