"""The README's default run (`snakemake --cores 2` on the embedded default) in a fresh copy
of the workflow: wall time (goal: 5 min), the jobs' own seconds per stage, and peak memory of
the whole process tree."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from benchmarks.common import copy_workflow, row, stage_seconds


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # a child that just ended
            total += p.memory_info().rss
    return total


def measure(cores: int = 2) -> list[dict]:
    exe = Path(sys.executable).with_name("snakemake")
    with tempfile.TemporaryDirectory() as tmp:
        wf = copy_workflow(Path(tmp) / "wf")
        log = Path(tmp) / "snakemake.log"  # a file, not a pipe: a full pipe would block it
        t0 = time.perf_counter()
        with open(log, "w") as f:
            proc = subprocess.Popen([str(exe), "--cores", str(cores)], cwd=wf,
                                    stdout=subprocess.DEVNULL, stderr=f)
            ps, peak = psutil.Process(proc.pid), 0
            while proc.poll() is None:
                peak = max(peak, tree_rss(ps))
                time.sleep(0.5)
        seconds = time.perf_counter() - t0
        err = log.read_text()
        if proc.returncode != 0:
            raise RuntimeError(f"default run failed:\n{err[-3000:]}")
        jobs = err.count("Finished jobid")
        stages = stage_seconds(wf / "results")
    case = f"embedded default, --cores {cores}, fresh copy, {jobs} jobs"
    return [row("default run", case, "wall time", seconds / 60, "min",
                goal="<= 5 min", met=seconds <= 300,
                **{f"stage {k} (job-s)": round(v, 1) for k, v in stages.items()}),
            row("default run", case, "peak memory (process tree)", peak / 2**30, "GiB")]
