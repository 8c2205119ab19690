"""Annotate a dataset: cache look-up, the chosen backend for the rest, one row per post."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from psymtl.annotate import cache as C
from psymtl.annotate import schema as S

log = logging.getLogger(__name__)


def cache_key(fingerprint: str, text: str) -> str:
    return S.digest({"annotator": fingerprint, "text": text})


def fingerprint(backend: dict[str, Any], prompt: str, schema: dict[str, Any],
                labels: dict[str, Any] | None) -> str:
    """What determines an answer besides the text (never the API key or the server URL)."""
    if backend["backend"] == "openai":
        parts = {"model": backend["model"], "temperature": backend.get("temperature", 0.0),
                 "prompt": S.digest(prompt)}
    else:
        parts = {"encoder": backend.get("encoder", "minilm"), "labels": S.digest(labels)}
    return S.digest({"backend": backend["backend"], "schema": S.digest(schema), **parts})


def make_annotator(backend: dict[str, Any], prompt: str, schema: dict[str, Any],
                   labels: dict[str, Any] | None, threads: int = 1):
    kind = backend["backend"]
    if kind == "openai":
        from psymtl.annotate.openai_backend import OpenAIAnnotator

        return OpenAIAnnotator(prompt=prompt, schema=schema, **backend)
    if kind == "local":
        from psymtl.annotate.local_backend import LocalAnnotator

        kw = {k: v for k, v in backend.items() if k not in ("backend", "labels")}
        return LocalAnnotator(labels=labels or {}, schema=schema, threads=threads, **kw)
    raise ValueError(f"unknown annotation backend {kind!r}")


def annotate(df: pd.DataFrame, backend: dict[str, Any], *, prompt_path: str | Path,
             schema_path: str | Path, labels_path: str | Path | None, cache_path: str | Path,
             threads: int = 1) -> tuple[pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """(annotations with one row per post, usage report, failures)."""
    schema = S.load(schema_path)
    prompt = Path(prompt_path).read_text()
    labels = yaml.safe_load(Path(labels_path).read_text()) if labels_path else None
    answers: dict[str, dict[str, Any]] = {}
    failures: dict[str, str] = {}
    report: dict[str, Any] = {"backend": backend["backend"], "posts": len(df)}
    if backend["backend"] == "file":
        from psymtl.annotate.file_backend import read

        by_key = read(backend["path"], backend.get("key", "id"), schema)
        col = backend.get("key", "id")
        for pid, k in zip(df["id"], df[col].astype(str), strict=True):
            if k in by_key:
                answers[pid] = by_key[k]
            else:
                failures[pid] = f"no annotation for this {col} in {backend['path']}"
    else:
        fp = fingerprint(backend, prompt, schema, labels)
        keys = {pid: cache_key(fp, text) for pid, text in zip(df["id"], df["text"], strict=True)}
        cache = C.Cache(cache_path)
        cached = cache.get_many(list(set(keys.values())))
        report |= {"cache_hits": sum(k in cached for k in keys.values()),
                   "cache_damaged_rows": cache.dropped_rows,
                   "cache_quarantined": cache.quarantined}
        todo = {k: t for pid, t in zip(df["id"], df["text"], strict=True)
                if (k := keys[pid]) not in cached}
        log.info("%d posts: %d answered from the cache, %d to annotate",
                 len(df), report["cache_hits"], len(todo))
        errors: dict[str, str] = {}
        if todo:
            annotator = make_annotator(backend, prompt, schema, labels, threads)

            def store(key: str, answer: dict[str, Any] | None, error: str | None) -> None:
                if answer is None:
                    errors[key] = error or "unknown error"
                else:
                    cache.put(key, answer)  # committed at once: a crash keeps it
                    cached[key] = answer
            annotator.annotate(todo.items(), store)
            report |= annotator.report()
        cache.close()
        for pid, k in keys.items():
            if k in cached:
                answers[pid] = cached[k]
            else:
                failures[pid] = errors.get(k, "not annotated")
    rows = [{"id": pid, "annotation_status": "ok", **S.to_row(answers[pid])}
            if pid in answers else {"id": pid, "annotation_status": "failed"}
            for pid in df["id"]]
    report |= {"annotated": len(answers), "failed": len(failures)}
    fails = pd.DataFrame({"id": list(failures), "reason": list(failures.values())})
    return pd.DataFrame(rows), report, fails
