"""The README's default run (`snakemake --cores 2` on the embedded default) in a fresh copy
of the workflow: wall time (goal: 5 min; median of ``repeats`` runs), the jobs' own seconds
per stage and peak memory of the whole process tree. On a CPU with native bf16 (where the
default trains under bf16 autocast) the fp32 twin (`training.cpu_bf16: false`) is run as
often: the default run's time on CPUs without native bf16."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

from benchmarks.common import copy_workflow, median, row, stage_seconds
from psymtl.machine import native_bf16

FP32 = {"training": {"cpu_bf16": False}}


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # a child that just ended
            total += p.memory_info().rss
    return total


def run(cores: int, extra: dict | None = None) -> dict:
    """One default run in a fresh copy; ``extra``: a config file laid over the default."""
    exe = Path(sys.executable).with_name("snakemake")
    with tempfile.TemporaryDirectory() as tmp:
        wf = copy_workflow(Path(tmp) / "wf")
        args = [str(exe), "--cores", str(cores)]
        if extra:
            (wf / "extra.yaml").write_text(yaml.safe_dump(extra))
            args += ["--configfile", "extra.yaml"]
        log = Path(tmp) / "snakemake.log"  # a file, not a pipe: a full pipe would block it
        t0 = time.perf_counter()
        with open(log, "w") as f:
            proc = subprocess.Popen(args, cwd=wf, stdout=subprocess.DEVNULL, stderr=f)
            ps, peak = psutil.Process(proc.pid), 0
            while proc.poll() is None:
                peak = max(peak, tree_rss(ps))
                time.sleep(0.5)
        seconds = time.perf_counter() - t0
        err = log.read_text()
        if proc.returncode != 0:
            raise RuntimeError(f"default run failed:\n{err[-3000:]}")
        return {"seconds": seconds, "peak": peak, "jobs": err.count("Finished jobid"),
                "stages": stage_seconds(wf / "results")}


def measure(repeats: int = 3, cores: int = 2) -> list[dict]:
    variants = {"default": None} | ({"fp32 (cpu_bf16: false)": FP32} if native_bf16() else {})
    rows = []
    for name, extra in variants.items():
        runs = [run(cores, extra) for _ in range(repeats)]
        walls = [r["seconds"] / 60 for r in runs]
        mid = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]  # the median run
        case = f"embedded default, {name}, --cores {cores}, fresh copy, {mid['jobs']} jobs"
        rows += [row("default run", case, "wall time", median(walls), "min",
                     goal="<= 5 min", met=median(walls) <= 5, runs=[round(w, 2) for w in walls],
                     **{f"stage {k} (job-s)": round(v, 1) for k, v in mid["stages"].items()}),
                 row("default run", case, "peak memory (process tree)",
                     max(r["peak"] for r in runs) / 2**30, "GiB")]
    return rows
