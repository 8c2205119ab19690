"""Task kinds: how a task's targets are read, what its head outputs, how it is trained,
turned into probabilities, scored and stacked from a predictions frame. One object per kind
(:data:`KINDS`); the rest of the code asks a task's kind and never compares kind names.
A new kind (ordinal, multi-label, ...) is one class here.

torch, numpy and pandas load when a kind is used, not when the DAG names tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import torch


class Kind:
    name = ""
    primary = ""  # the metric that selects checkpoints and heads the figures
    kendall_factor = 1.0  # Kendall weighting: factor of exp(-s) L (regression: 1/2)
    standardised = False  # targets z-scored with the training split's mean and sd
    decisions = False  # predictions are class decisions (McNemar applies)

    def n_out(self, classes: Sequence[str]) -> int:
        return len(classes)

    def targets(self, col: pd.Series | None, n: int, classes: Sequence[str]
                ) -> tuple[np.ndarray, np.ndarray]:
        """Targets of a dataset column (None: the column is absent) and a 'present' mask."""
        raise NotImplementedError

    def from_csv(self, df: pd.DataFrame, path: Path, spec: dict[str, Any]) -> np.ndarray:
        """A user's CSV columns (``spec``: ``column``, or ``columns`` for distributions)
        as this kind's canonical target column; bad values name their line."""
        raise NotImplementedError

    def loss(self, logits: torch.Tensor, target: torch.Tensor, distance: str) -> torch.Tensor:
        """Per-example loss."""
        raise NotImplementedError

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        import torch

        return torch.softmax(logits.float(), dim=-1)

    def metrics(self, target: np.ndarray, pred: np.ndarray) -> dict[str, float]:
        raise NotImplementedError

    def metric(self, name: str, target: np.ndarray, pred: np.ndarray) -> float:
        """One metric, computed directly with numpy (equal to ``metrics(...)[name]``; the
        bootstrap calls it thousands of times)."""
        raise NotImplementedError

    def stack_targets(self, values: pd.Series) -> np.ndarray:
        """A predictions frame's target column as an array."""
        raise NotImplementedError

    def stack_predictions(self, values: pd.Series) -> np.ndarray:
        import numpy as np

        return np.stack(values.to_list())

    def __repr__(self) -> str:
        return self.name


class Classification(Kind):
    name, primary, decisions = "classification", "f1", True

    def targets(self, col, n, classes):
        import numpy as np
        import pandas as pd

        if col is None:
            return np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=bool)
        if pd.api.types.is_numeric_dtype(col):
            y = col.astype("Float64").fillna(-1).to_numpy(dtype=np.int64)
        else:
            index = {c: i for i, c in enumerate(classes)}
            y = col.map(index).astype("Float64").fillna(-1).to_numpy(dtype=np.int64)
        return y, y >= 0

    def from_csv(self, df, path, spec):
        from psymtl.ingest import check_values

        values = df[spec["column"]].str.strip()
        check_values(df.assign(**{spec["column"]: values}), path, spec["column"],
                     (*spec["classes"], ""))  # empty: no target for that post
        return values.replace("", None).to_numpy()

    def loss(self, logits, target, distance):
        import torch.nn.functional as F

        return F.cross_entropy(logits.float(), target.clamp_min(0), reduction="none")

    def metrics(self, target, pred):
        from psymtl import metrics

        return metrics.classification(target.astype(int), pred)

    def metric(self, name, target, pred):
        from psymtl import metrics

        return metrics.classification_single(name, target.astype(int), pred)

    def stack_targets(self, values):
        return values.to_numpy(int)


class Regression(Kind):
    name, primary, kendall_factor, standardised = "regression", "r2", 0.5, True

    def n_out(self, classes):
        return 1

    def targets(self, col, n, classes):
        import numpy as np

        if col is None:
            return np.full(n, np.nan, dtype=np.float32), np.zeros(n, dtype=bool)
        y = col.astype("Float64").to_numpy(dtype=np.float32, na_value=np.nan)
        return y, ~np.isnan(y)

    def from_csv(self, df, path, spec):
        from psymtl.ingest import numeric

        return numeric(df, path, spec["column"]).to_numpy()

    def loss(self, logits, target, distance):
        return (logits.float().squeeze(-1) - target) ** 2

    def probabilities(self, logits):
        return logits.float().squeeze(-1)

    def metrics(self, target, pred):
        from psymtl import metrics

        return metrics.regression(target, pred)

    def metric(self, name, target, pred):
        from psymtl import metrics

        return metrics.regression_single(name, target, pred)

    def stack_targets(self, values):
        return values.to_numpy(float)

    def stack_predictions(self, values):
        return values.to_numpy(float)


class Distribution(Kind):
    """Targets are distributions over the classes (normalised vote counts or probabilities);
    a row whose votes are all zero (e.g. FIG's fine-grained votes of non-lonely posts) has
    no target."""

    name, primary = "distribution", "intersection"

    def targets(self, col, n, classes):
        import numpy as np
        import pandas as pd

        out = np.zeros((n, len(classes)), dtype=np.float32)
        present = np.zeros(n, dtype=bool)
        for i, v in enumerate(col if col is not None else []):
            if v is None or (not isinstance(v, list | np.ndarray) and pd.isna(v)):
                continue
            v = np.asarray(v, dtype=np.float64)
            if v.sum() > 0:
                out[i] = v / v.sum()
                present[i] = True
        return out, present

    def from_csv(self, df, path, spec):
        import numpy as np

        from psymtl.ingest import numeric

        votes = np.stack([numeric(df, path, c).fillna(0).to_numpy(float)
                          for c in spec["columns"]], axis=1)
        return list(votes)

    def loss(self, logits, target, distance):
        import torch.nn.functional as F

        from psymtl.losses import distribution_loss

        return distribution_loss(F.log_softmax(logits.float(), dim=-1), target, distance)

    def metrics(self, target, pred):
        from psymtl import metrics

        return metrics.distribution_with_decisions(target, pred)

    def metric(self, name, target, pred):
        from psymtl import metrics

        return metrics.distribution_single(name, target, pred)

    def stack_targets(self, values):
        import numpy as np

        return np.stack(values.to_list())


KINDS: dict[str, Kind] = {k.name: k for k in (Classification(), Regression(), Distribution())}


def get(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"unknown task kind {name!r}; known: {sorted(KINDS)}") from None
