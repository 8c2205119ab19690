"""Run the benchmark suite, print one table per benchmark and write everything as JSON.

    .venv/bin/python -m benchmarks [--only NAME,...] [--skip NAME,...] [--repeats K]
                                   [--out benchmarks/results.json]
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
from pathlib import Path

from tabulate import tabulate

from benchmarks.common import ROOT, machine

SUITE = ("trainer", "padding", "inference", "mlm", "annotation", "dag", "default_run",
         "test_command", "real_run", "gpu")
REPEATED = {"trainer", "inference", "mlm", "annotation", "dag", "default_run",
            "test_command"}  # medians of --repeats runs


def table(rows: list[dict]) -> str:
    flat = []
    for r in rows:
        d = {k: v for k, v in r.items() if k not in ("benchmark", "details")}
        d |= {k: v for k, v in r["details"].items() if not isinstance(v, list)}
        flat.append({k: v for k, v in d.items() if v is not None})
    return tabulate(flat, headers="keys", floatfmt=".3g")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(SUITE))
    ap.add_argument("--skip", default="")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results.json"))
    args = ap.parse_args()
    chosen = [b for b in args.only.split(",") if b and b not in args.skip.split(",")]
    unknown = set(chosen) - set(SUITE)
    if unknown:
        ap.error(f"unknown benchmark(s) {sorted(unknown)}; choose from {list(SUITE)}")
    report = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
              "repeats": args.repeats, "rows": []}
    print(f"machine: {report['machine']}")
    for name in chosen:
        t0 = time.perf_counter()
        module = importlib.import_module(f"benchmarks.{name}")
        rows = (module.measure(repeats=args.repeats) if name in REPEATED
                else module.measure())
        report["rows"] += rows
        print(f"\n## {rows[0]['benchmark']}  ({time.perf_counter() - t0:.0f} s)\n"
              f"{table(rows)}", flush=True)
        Path(args.out).write_text(json.dumps(report, indent=1, default=float))
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
