"""DAG construction: `snakemake -n` wall time on the paper config at 1x, 2x, 5x and 10x its
seeds (goal at 1x: 2 s), and how close the growth is to linear in the number of jobs."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from benchmarks.common import copy_workflow, median, row, slurm_state


def dry_run(wf: Path, seeds: int) -> tuple[float, int]:
    (wf / "seeds.yaml").write_text(yaml.safe_dump({"seeds": list(range(1, seeds + 1))}))
    exe = Path(sys.executable).with_name("snakemake")
    t0 = time.perf_counter()
    out = subprocess.run([str(exe), "-n", "--configfile", "configs/paper.yaml", "seeds.yaml"],
                         cwd=wf, capture_output=True, text=True, check=True).stdout
    seconds = time.perf_counter() - t0
    return seconds, int(re.search(r"^total\s+(\d+)", out, re.M).group(1))


def measure(repeats: int = 3, factors: tuple[int, ...] = (1, 2, 5, 10)) -> list[dict]:
    paper_seeds = len(yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "configs" / "paper.yaml").read_text())["seeds"])
    slurm = slurm_state()  # "down" adds about 9 s to every Snakemake start (common.slurm_state)
    with tempfile.TemporaryDirectory() as tmp:
        wf = copy_workflow(Path(tmp) / "wf")
        points = []
        for f in factors:
            runs = [dry_run(wf, paper_seeds * f) for _ in range(repeats)]
            points.append((f, runs[0][1], median(s for s, _ in runs)))
    jobs = np.array([p[1] for p in points], float)
    secs = np.array([p[2] for p in points])
    slope, intercept = np.polyfit(jobs, secs, 1)
    r2 = 1 - ((secs - (slope * jobs + intercept)) ** 2).sum() / ((secs - secs.mean()) ** 2).sum()
    # per-job cost past the fixed start-up, at the largest vs the smallest DAG
    growth = ((secs[-1] - intercept) / jobs[-1]) / ((secs[0] - intercept) / jobs[0])
    rows = [row("DAG construction (snakemake -n)", f"paper config, {paper_seeds * f} seeds",
                f"{n} jobs", s, "s", goal="<= 2 s" if f == 1 else None,
                met=bool(s <= 2) if f == 1 else None, slurm=slurm) for f, n, s in points]
    rows.append(row("DAG construction (snakemake -n)", "linear fit over the points above",
                    "seconds per 1000 jobs", slope * 1000, "s", ratio=growth,
                    goal="close to linear: ratio <= 2", met=bool(growth <= 2),
                    r2=float(r2), intercept_s=float(intercept),
                    ratio_means="per-job time past start-up, largest / smallest DAG"))
    return rows
