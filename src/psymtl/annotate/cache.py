"""Persistent, content-addressed annotation cache (SQLite, WAL).

Keys are sha256 digests of (backend, model, settings, prompt version, schema, post text), so
a changed prompt or model never reuses old answers and the same post is never paid for
twice. Every answer is committed as soon as it arrives: a crash keeps all answers received,
several jobs may write at once (SQLite locking), and each row carries the digest of its value
so a damaged row is detected and dropped instead of trusted. A file that is not a readable
database is moved aside (``*.corrupt-<time>``) and reported.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

from psymtl.annotate.schema import digest

log = logging.getLogger(__name__)


class Cache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.quarantined: str | None = None
        self.dropped_rows = 0
        try:
            self.db = self._open()
        except sqlite3.DatabaseError as exc:
            self.quarantined = f"{self.path}.corrupt-{int(time.time())}"
            log.warning("annotation cache %s is damaged (%s): moved to %s, starting empty",
                        self.path, exc, self.quarantined)
            self.path.rename(self.quarantined)
            for suffix in ("-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            self.db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=120, isolation_level=None,
                             check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        ok = db.execute("PRAGMA quick_check").fetchone()[0]
        if ok != "ok":
            db.close()
            raise sqlite3.DatabaseError(f"integrity check: {ok}")
        db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, value TEXT NOT "
                   "NULL, digest TEXT NOT NULL, created REAL NOT NULL)")
        return db

    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT key, value, digest FROM answers WHERE key IN ({marks})", chunk
            ).fetchall()
            for key, value, dig in rows:
                if digest(value) != dig:
                    self.dropped_rows += 1
                    log.warning("cache row %s is damaged (digest mismatch): not trusted", key)
                    self.db.execute("DELETE FROM answers WHERE key = ?", (key,))
                    continue
                found[key] = json.loads(value)
        return found

    def put(self, key: str, answer: dict[str, Any]) -> None:
        value = json.dumps(answer, sort_keys=True, ensure_ascii=False)
        self.db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?)",
                        (key, value, digest(value), time.time()))

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]

    def close(self) -> None:
        self.db.close()
