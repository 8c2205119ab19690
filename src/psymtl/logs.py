"""Send a script's logging, warnings and progress bars to its Snakemake ``log:`` file."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from tqdm.auto import tqdm

from psymtl.errors import InputError

T = TypeVar("T")


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
        except InputError as exc:  # the user's data: one line saying what to fix, no traceback
            logging.getLogger("psymtl").error("%s", exc)
            failed = exc
        except Exception:
            logging.getLogger("psymtl").exception("failed")
            raise
        else:
            failed = None
        finally:
            root.removeHandler(handler)
            sys.stderr = old
    if failed is not None:
        # one write, so that the lines of jobs failing at once never interleave on a terminal
        line = f"error: {failed}\n"
        try:
            os.write(sys.stderr.fileno(), line.encode())
        except (AttributeError, OSError, ValueError):  # a stderr without a file (captured)
            sys.stderr.write(line)
        raise SystemExit(1)


def progress(iterable: Iterable[T], desc: str, **kw: Any) -> tqdm[T]:
    """A progress bar that also reaches a job's log file (a bar on a terminal, a line every
    30 s in a file)."""
    tty = getattr(sys.stderr, "isatty", lambda: False)()
    return tqdm(iterable, desc=desc, disable=False, mininterval=1 if tty else 30,
                file=sys.stderr, **kw)
