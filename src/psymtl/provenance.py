"""Which code made a run: the git commit of the checkout and a hash of the training code.

Every training job records :func:`code_version` in its ``train_summary.json``; the real-data
report flags committed runs whose training code differs from the code that ships
(:func:`training_code`), so that runs placed side by side come from one code version. The
hash covers every module of the package except those that only read finished runs
(:data:`READERS`): an edit to a table or a figure leaves runs current; an edit to a model, a
loss, the trainer or the data path does not.
"""

from __future__ import annotations

import hashlib
import subprocess
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
READERS = frozenset({"__main__.py", "figures.py", "health.py", "logs.py", "model_card.py",
                     "provenance.py", "reproduction.py", "stats.py", "tables.py"})


@cache
def training_code() -> str:
    """sha256 (first 16 hex digits) over the package's training modules, path and bytes."""
    h = hashlib.sha256()
    for f in sorted(PACKAGE.rglob("*.py")):
        rel = f.relative_to(PACKAGE).as_posix()
        if rel in READERS:
            continue
        h.update(rel.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def commit() -> str | None:
    """The checkout's commit (with ``+dirty`` when tracked files differ), or None outside
    a git checkout."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=PACKAGE, capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
    try:
        head = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", "."))
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def code_version() -> dict[str, str | None]:
    """What a run records of the code that made it."""
    return {"commit": commit(), "training_code": training_code()}
