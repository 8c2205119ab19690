"""Run the benchmark suite, print one table per benchmark and record each benchmark's run.

    .venv/bin/python -m benchmarks [--only NAME,...] [--skip NAME,...] [--repeats K]
                                   [--out benchmarks/results.json]

The JSON file holds the latest run of every benchmark, each with its provenance (commit,
date, machine, repeats): running some benchmarks replaces their entries and keeps the
others. Older runs are in the file's git history (``git log -p benchmarks/results.json``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
from pathlib import Path
from typing import Any

from tabulate import tabulate

from benchmarks.common import ROOT, machine

SUITE = ("trainer", "padding", "inference", "mlm", "annotation", "dag", "default_run",
         "test_command", "real_run", "gpu")
REPEATED = {"trainer", "inference", "mlm", "annotation", "dag", "default_run",
            "test_command"}  # medians of --repeats runs
ABOUT = ("The latest run of each benchmark of `python -m benchmarks`, with the commit, date "
         "and machine that produced it; older runs: `git log -p benchmarks/results.json`.")


def table(rows: list[dict]) -> str:
    flat = []
    for r in rows:
        d = {k: v for k, v in r.items() if k not in ("benchmark", "details")}
        d |= {k: v for k, v in r["details"].items() if not isinstance(v, (list, dict))}
        flat.append({k: v for k, v in d.items() if v is not None})
    return tabulate(flat, headers="keys", floatfmt=".3g")


def load(path: Path) -> dict[str, Any]:
    """The recorded runs in ``path`` (none if the file is missing or not this format)."""
    try:
        report = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {"about": ABOUT, "benchmarks": {}}
    if not isinstance(report.get("benchmarks"), dict):
        return {"about": ABOUT, "benchmarks": {}}
    return report


def record(report: dict[str, Any], name: str, rows: list[dict], run: dict[str, Any]) -> None:
    """Replace benchmark ``name``'s entry with this run's rows and provenance (``run``:
    commit, date, machine, repeats)."""
    report["about"] = ABOUT
    report["benchmarks"][name] = {**run, "rows": rows}
    report["benchmarks"] = dict(sorted(report["benchmarks"].items(),
                                       key=lambda kv: SUITE.index(kv[0])
                                       if kv[0] in SUITE else len(SUITE)))


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
    out = Path(args.out)
    report = load(out)
    here = machine()
    commit = here.pop("commit")
    print(f"machine: {here}, commit {commit}")
    for name in chosen:
        t0 = time.perf_counter()
        date = time.strftime("%Y-%m-%d %H:%M")
        module = importlib.import_module(f"benchmarks.{name}")
        rows = (module.measure(repeats=args.repeats) if name in REPEATED
                else module.measure())
        run = {"commit": commit, "date": date, "machine": here,
               "repeats": args.repeats if name in REPEATED else 1}
        record(report, name, rows, run)
        print(f"\n## {rows[0]['benchmark']}  ({time.perf_counter() - t0:.0f} s)\n"
              f"{table(rows)}", flush=True)
        out.write_text(json.dumps(report, indent=1, default=float) + "\n")
    print(f"\nwritten: {out}")


if __name__ == "__main__":
    main()
