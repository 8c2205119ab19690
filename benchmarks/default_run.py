"""The README's default run (`snakemake --cores 2` on the embedded default) in a fresh copy
of the workflow: wall time (goal: 5 min; median of ``repeats`` runs), the jobs' own seconds
per stage and peak memory of the whole process tree. On a CPU with native bf16 (where the
default trains under bf16 autocast) the fp32 twin (`training.cpu_bf16: false`) is run as
often: the default run's time on CPUs without native bf16. On a CPU with AVX-512 a third
variant stands in for an AVX2-only CPU (the AMD EPYC kind, which trains in fp32): the fp32
run with PyTorch's, MKL's and oneDNN's kernels capped at AVX2 (:data:`AVX2`); the same
memory and clock, so it shows what the narrower kernels cost, not what another machine's
memory and clock would add or save."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

from benchmarks.common import copy_workflow, median, row, stage_seconds
from psymtl.machine import cpu_flags, native_bf16

FP32 = {"training": {"cpu_bf16": False}}
AVX2 = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        "ONEDNN_MAX_CPU_ISA": "AVX2"}


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # a child that just ended
            total += p.memory_info().rss
    return total


def run(cores: int, extra: dict | None = None, env: dict | None = None) -> dict:
    """One default run in a fresh copy; ``extra``: a config file laid over the default;
    ``env``: environment variables set for it."""
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
            proc = subprocess.Popen(args, cwd=wf, stdout=subprocess.DEVNULL, stderr=f,
                                    env=os.environ | (env or {}))
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
    variants = {"default": (None, None)}
    if native_bf16():
        variants["fp32 (cpu_bf16: false)"] = (FP32, None)
    if "avx512f" in cpu_flags():
        variants["fp32, kernels capped at AVX2 (an AVX2-only CPU's stand-in)"] = (FP32, AVX2)
    rows = []
    for name, (extra, env) in variants.items():
        runs = [run(cores, extra, env) for _ in range(repeats)]
        walls = [r["seconds"] / 60 for r in runs]
        mid = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]  # the median run
        case = f"embedded default, {name}, --cores {cores}, fresh copy, {mid['jobs']} jobs"
        rows += [row("default run", case, "wall time", median(walls), "min",
                     goal="<= 5 min", met=median(walls) <= 5, runs=[round(w, 2) for w in walls],
                     **{f"stage {k} (job-s)": round(v, 1) for k, v in mid["stages"].items()}),
                 row("default run", case, "peak memory (process tree)",
                     max(r["peak"] for r in runs) / 2**30, "GiB")]
    return rows
