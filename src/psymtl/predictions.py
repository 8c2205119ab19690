"""The predictions frame a training run writes and every reader reads: one row per post
and split (``id``, ``split``, ``dataset``), per scored task ``<task>__present`` (the post
has a target), ``<task>__target`` and ``<task>__pred`` (probabilities, a distribution or a
value), plus model outputs such as ``alpha_shared_<task>``. This module owns those names."""

from __future__ import annotations

import pandas as pd

PRESENT, TARGET, PRED = "present", "target", "pred"


def column(task: str, part: str) -> str:
    """The column of ``task``'s ``part`` (:data:`PRESENT`, :data:`TARGET` or :data:`PRED`)."""
    return f"{task}__{part}"


def scored_tasks(frame: pd.DataFrame) -> list[str]:
    """The tasks the frame has predictions for, in column order."""
    suffix = "__" + PRED
    return [c.removesuffix(suffix) for c in frame.columns if c.endswith(suffix)]


def with_target(frame: pd.DataFrame, task: str, split: str | None = None) -> pd.DataFrame:
    """The rows (of ``split``, if given) where ``task`` has a target."""
    keep = frame[column(task, PRESENT)].to_numpy(bool)
    if split is not None:
        keep = keep & (frame["split"] == split).to_numpy()
    return frame[keep]
