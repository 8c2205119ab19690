"""Annotation throughput through the OpenAI-compatible path (the real client) against a local
server answering with a fixed latency: one request at a time vs the configured concurrency,
and a rerun served from the cache."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from benchmarks.common import ROOT, LLMServer, median, row
from psymtl.annotate import run

RES = ROOT / "resources" / "annotation"
PATHS = dict(prompt_path=RES / "prompt_v1.txt", schema_path=RES / "schema_v1.json",
             labels_path=None)


def once(server: LLMServer, posts: pd.DataFrame, concurrency: int, cache: Path) -> float:
    backend = {"backend": "openai", "model": "gpt-4o-mini", "base_url": server.url,
               "api_key_env": "PSYMTL_BENCH_KEY", "concurrency": concurrency,
               "max_attempts": 3, "timeout_s": 10, "backoff_s": 0.01}
    t0 = time.perf_counter()
    _, rep, _ = run.annotate(posts, backend, cache_path=cache, **PATHS)
    assert rep["annotated"] == len(posts), rep
    return time.perf_counter() - t0


def measure(repeats: int = 3, n: int = 200, latency_s: float = 0.05,
            concurrency: int = 8) -> list[dict]:
    os.environ.setdefault("PSYMTL_BENCH_KEY", "sk-benchmark")
    posts = pd.DataFrame({"id": [f"p{i}" for i in range(n)],
                          "text": [f"benchmark post {i}: we are tired of the treatments"
                                   for i in range(n)]})
    times: dict[str, list[float]] = {"serial": [], "concurrent": [], "cached": []}
    with LLMServer(latency_s=latency_s) as server, tempfile.TemporaryDirectory() as tmp:
        for r in range(repeats):
            times["serial"].append(once(server, posts, 1, Path(tmp) / f"s{r}.sqlite"))
            cache = Path(tmp) / f"c{r}.sqlite"
            times["concurrent"].append(once(server, posts, concurrency, cache))
            calls = server.total_calls
            times["cached"].append(once(server, posts, concurrency, cache))
            assert server.total_calls == calls, "the rerun called the server"
    t = {k: median(v) for k, v in times.items()}
    case = f"{n} posts, server latency {latency_s * 1000:.0f} ms"
    return [
        row("annotation throughput", case, "one request at a time", n / t["serial"], "posts/s",
            seconds=times["serial"]),
        row("annotation throughput", case, f"concurrency {concurrency}", n / t["concurrent"],
            "posts/s", ratio=t["serial"] / t["concurrent"], seconds=times["concurrent"]),
        row("annotation throughput", case, "rerun from the cache (0 calls)", n / t["cached"],
            "posts/s", ratio=t["serial"] / t["cached"], seconds=times["cached"]),
    ]
