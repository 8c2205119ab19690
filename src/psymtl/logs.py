"""Send a script's logging, warnings and progress bars to its Snakemake ``log:`` file."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def to_file(path: str | Path) -> Iterator[logging.Logger]:
    """Route stderr and the root logger to ``path`` for the duration of the block."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    old = sys.stderr
    with open(path, "w", buffering=1) as f:
        sys.stderr = f
        handler = logging.StreamHandler(f)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            yield logging.getLogger("psymtl")
        except Exception:
            logging.getLogger("psymtl").exception("failed")
            raise
        finally:
            root.removeHandler(handler)
            sys.stderr = old
