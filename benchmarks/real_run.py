"""One real-data seed of Studies B and C: every B and C condition, seed 1, on the real
datasets (`configs/shared-data.yaml` with the copies found by the benchmarks), the packaged
MiniLM, max length 128, `snakemake --cores 2` in a fresh copy of the workflow (masked-LM
adaptation included), with `cpu_bf16` (used only where the CPU has native bf16; fp32
elsewhere). Wall time (goal: 45 min), time per stage (sum of the jobs' own wall times, from
Snakemake's per-job benchmark files) and each condition's dev score. ``measure(("fp32",
"cpu_bf16"))`` also runs the fp32 twin and gives the dev-score differences at this one seed
(the real-data report compares them with the spread over seeds). Skips when the real
datasets are absent."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.common import copy_workflow, row, stage_seconds
from benchmarks.corpora import REAL_FOLDERS, SHARED
from psymtl import datasets, settings

VARIANTS = {"fp32": {"training": {"cpu_bf16": False}},
            "cpu_bf16": {"training": {"cpu_bf16": True}}}


def targets(config: dict) -> list[str]:
    return [f"results/{st}/{c}/seed1/metrics.json" for st in ("B", "C")
            for c in config["studies"][st]["conditions"]]


def dev_scores(results: Path, config: dict) -> dict[str, float]:
    """Each condition's dev score on its selected task's primary metric."""
    out, tasks = {}, datasets.tasks(config["datasets"])
    for st in ("B", "C"):
        for c in config["studies"][st]["conditions"]:
            cond = settings.condition(config, st, c)
            task = cond.get("select", {}).get("task", cond["tasks"][0])
            task = cond["tasks"][0] if task == "all" else task
            m = json.loads((results / st / c / "seed1" / "metrics.json").read_text())
            out[f"{st}/{c}"] = m["dev"][task][tasks[task].kind.primary]
    return out


def run(variant: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        wf = copy_workflow(Path(tmp) / "wf")
        extra = {"seeds": [1], "datasets": {d: {"source": "path", "path": str(SHARED / f)}
                                            for d, f in REAL_FOLDERS.items()}}
        (wf / "real.yaml").write_text(yaml.safe_dump(settings.merge(extra, VARIANTS[variant])))
        config = settings.load(["configs/shared-data.yaml", "real.yaml"], wf)
        log = Path(tmp) / "snakemake.log"
        t0 = time.perf_counter()
        with open(log, "w") as f:
            proc = subprocess.run([str(Path(sys.executable).with_name("snakemake")),
                                   *targets(config), "--cores", "2", "--configfile",
                                   "configs/shared-data.yaml", "real.yaml"], cwd=wf,
                                  stdout=f, stderr=subprocess.STDOUT)
        wall = time.perf_counter() - t0
        if proc.returncode:
            raise RuntimeError(f"real run ({variant}) failed:\n{log.read_text()[-3000:]}")
        summary = json.loads((wf / "results" / "B" / "single_task" / "seed1" /
                              "train_summary.json").read_text())
        return {"wall_s": wall, "stages": stage_seconds(wf / "results"),
                "dev": dev_scores(wf / "results", config),
                "bf16_autocast": summary["bf16_autocast"]}


def measure(variants: tuple[str, ...] = ("cpu_bf16",)) -> list[dict]:
    if not all((SHARED / f).is_dir() for f in REAL_FOLDERS.values()):
        return [row("real-data seed (B + C)", f"real datasets not at {SHARED}", "skipped",
                    float("nan"), "min")]
    results = {v: run(v) for v in variants}
    rows = []
    for v, r in results.items():
        case = (f"shared-data config, MiniLM, len<=128, every B and C condition, seed 1, "
                f"--cores 2, {v} (bf16 autocast used: {r['bf16_autocast']})")
        rows.append(row("real-data seed (B + C)", case, "wall time", r["wall_s"] / 60, "min",
                        goal="<= 45 min", met=r["wall_s"] <= 45 * 60,
                        **{f"stage {k} (min)": round(s / 60, 1) for k, s in r["stages"].items()},
                        dev=r["dev"]))
    if len(results) == 2:
        a, b = (results[v]["dev"] for v in variants)
        diffs = {k: b[k] - a[k] for k in a}
        rows.append(row("real-data seed (B + C)", f"dev score, {variants[1]} - {variants[0]}",
                        "mean |difference|", sum(map(abs, diffs.values())) / len(diffs),
                        "metric", differences=diffs,
                        speedup=results[variants[0]]["wall_s"] / results[variants[1]]["wall_s"]))
    return rows
