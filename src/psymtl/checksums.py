"""Content digests of files and folders (cheap imports: the DAG computes them)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256sum(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree_digest(path: str | Path) -> str | None:
    """sha256 over a file's bytes, or over every file's relative path and bytes in a folder;
    None if ``path`` does not exist. A source edited in place gets a new digest, a source
    merely touched keeps it."""
    path = Path(path)
    if path.is_file():
        return sha256sum(path)
    if not path.is_dir():
        return None
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(f.relative_to(path).as_posix().encode() + b"\0" + sha256sum(f).encode())
    return h.hexdigest()
