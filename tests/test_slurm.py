"""The workflow through a real Slurm cluster with `--profile profiles/slurm`: every job is a
Slurm job, training and MLM adaptation land on the GPU partition with the GPU Slurm gave them,
and the numbers equal a local run's.

Needs a running Slurm (CI starts a one-node one with `.ci/start-slurm.sh`, see the README);
skips without one unless PSYMTL_REQUIRE_SLURM=1, which CI sets."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import copy_workflow, snakemake

from benchmarks.common import slurm_state

TARGETS = ["results/C/hdln_adapted/seed1/metrics.json"]
RUN = Path("results/C/hdln_adapted/seed1")


@pytest.fixture(scope="module")
def cluster() -> None:
    if slurm_state() != "up":
        if os.environ.get("PSYMTL_REQUIRE_SLURM") == "1":
            pytest.fail("PSYMTL_REQUIRE_SLURM=1 but no Slurm answers (start .ci/start-slurm.sh)")
        pytest.skip("no Slurm cluster running (see README: Slurm)")


def start_on_slurm(wf: Path) -> subprocess.Popen:
    """Snakemake with the Slurm profile, running in the background (output: slurm.log)."""
    exe = Path(sys.executable).with_name("snakemake")
    args = [str(exe), "--profile", "profiles/slurm", "--configfile", "tests/configs/tiny.yaml",
            "--slurm-init-seconds-before-status-checks", "2", *TARGETS]
    with open(wf / "slurm.log", "w") as log:
        return subprocess.Popen(args, cwd=wf, stdout=log, stderr=subprocess.STDOUT)


def finish(proc: subprocess.Popen, wf: Path, timeout: int = 900) -> str:
    """Its output once it ended; stopped with SIGINT (which cancels its jobs) after
    ``timeout`` s."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
        pytest.fail(f"the Slurm run stopped after {timeout} s:\n"
                    f"{(wf / 'slurm.log').read_text()[-4000:]}")
    out = (wf / "slurm.log").read_text()
    assert proc.returncode == 0, out[-6000:]
    return out


@pytest.mark.slow
def test_workflow_through_slurm_equals_local_run(cluster, tmp_path):
    slurm_wf = copy_workflow(tmp_path / "slurm")
    slurm_run = start_on_slurm(slurm_wf)
    # the local run of the same targets meanwhile: the Slurm run mostly waits for its polls
    local_wf = copy_workflow(tmp_path / "local")
    try:
        snakemake(local_wf, "--configfile", "tests/configs/tiny.yaml", "--cores", "2", *TARGETS)
    except BaseException:
        slurm_run.send_signal(signal.SIGINT)  # cancels its Slurm jobs
        slurm_run.wait(timeout=120)
        raise
    out = finish(slurm_run, slurm_wf)

    job_ids = re.findall(r"submitted with SLURM jobid (\d+)", out)
    queue = subprocess.run(["squeue", "--states=all", "-h", "-o", "%i|%P|%k|%T"],
                           capture_output=True, text=True, check=True).stdout
    jobs = {i: (part, comment, state) for i, part, comment, state
            in (line.split("|") for line in queue.splitlines())}
    ours = {jobs[i][1]: jobs[i] for i in job_ids}
    rules = {re.match(r"rule_(\w+?)_wildcards", c).group(1) for c in ours}
    assert rules == {"ingest", "split", "tokenize", "mlm_adapt", "train"}, ours
    assert len(job_ids) == len(ours) == 5
    for comment, (part, _, state) in ours.items():
        assert state == "COMPLETED", (comment, state)
        gpu_rule = comment.startswith(("rule_train_", "rule_mlm_adapt_"))
        assert part == ("gpu" if gpu_rule else "cpu"), (comment, part)

    summary = json.loads((slurm_wf / RUN / "train_summary.json").read_text())
    assert summary["slurm_job_id"] in job_ids
    assert summary["cuda_visible_devices"] == "0"  # the GPU Slurm gave the job
    assert summary["device"] in ("cpu", "cuda")   # CPU where the GPU is not real

    assert (json.loads((slurm_wf / TARGETS[0]).read_text())
            == json.loads((local_wf / TARGETS[0]).read_text()))
    pd.testing.assert_frame_equal(pd.read_parquet(slurm_wf / RUN / "predictions.parquet"),
                                  pd.read_parquet(local_wf / RUN / "predictions.parquet"))
