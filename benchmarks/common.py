"""Rows of the benchmark table, the machine they were measured on, and the test helpers the
benchmarks share (a copy of the workflow, the local LLM server)."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from psymtl.machine import describe

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the test helpers the benchmarks share
from llm_server import LLMServer  # noqa: E402
from workflow_copy import copy_workflow  # noqa: E402

__all__ = ["ROOT", "LLMServer", "copy_workflow", "machine", "median", "row", "slurm_state",
           "stage_seconds"]


def row(benchmark: str, case: str, measure: str, value: float, unit: str,
        ratio: float | None = None, goal: str | None = None, met: bool | None = None,
        **details: Any) -> dict[str, Any]:
    """One line of the table; ``ratio`` is against the peer measured in the same run."""
    return {"benchmark": benchmark, "case": case, "measure": measure, "value": value,
            "unit": unit, "ratio": ratio, "goal": goal, "met": met, "details": details}


def median(xs) -> float:
    return float(statistics.median(xs))


def machine() -> dict[str, Any]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    return describe() | {"commit": commit or None}


def slurm_state() -> str:
    """'none': no Slurm tools here; 'up': a Slurm controller answers; 'down': the tools but no
    controller. With 'down' every Snakemake process starts about 9 s late, whatever its
    executor: the Slurm executor plugin runs `scontrol show config` when Snakemake imports it,
    and scontrol waits for the controller."""
    if shutil.which("sinfo") is None:  # the plugin's own test for Slurm
        return "none"
    try:
        proc = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "down"
    return "up" if proc.returncode == 0 and "UP" in proc.stdout else "down"


def stage_seconds(results: Path) -> dict[str, float]:
    """Sum of the jobs' own wall times per stage, from Snakemake's per-job benchmark files
    (training split by study)."""
    import pandas as pd

    out: dict[str, float] = {}
    for f in sorted((results / "benchmarks").rglob("*.tsv")):
        parts = f.relative_to(results / "benchmarks").parts
        stage = f"{parts[0]} {parts[1]}" if parts[0] == "train" else parts[0]
        out[stage] = out.get(stage, 0.0) + float(pd.read_csv(f, sep="\t")["s"].sum())
    return out
