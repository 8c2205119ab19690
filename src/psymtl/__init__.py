"""PsyMTL: shared code of the multi-task / distributional learning workflow.

``psymtl.load(folder_or_folders)`` loads saved models (one run's ``model/`` folder, or the
seeds of a condition) to score texts: ``psymtl.load(paths).score(texts)`` gives a table with a
row per text (docs/models.md)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from psymtl.saved import Ensemble

__version__ = "0.1.0"
__all__ = ["__version__", "load"]


def load(paths: str | Path | Sequence[str | Path], device: str | None = None) -> Ensemble:
    """The saved model folder(s) ``paths``, ready to score texts with ``.score(texts)``: one
    run, or the ensemble (mean) of several, e.g. every seed of a condition. ``device``:
    ``cpu`` (default) or ``cuda``."""
    from psymtl.saved import Ensemble

    return Ensemble(paths, device)
