"""The benchmark suite runs (its cheap parts) and its padding arithmetic is right; the
measurements themselves are taken with `python -m benchmarks`, not in the tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT


def test_padding_efficiencies_by_hand():
    from benchmarks.padding import efficiencies

    lengths = np.array([10, 10, 2, 2])
    eff = efficiencies(lengths, max_length=20, batch_size=2)
    assert eff["fixed-length padding"] == pytest.approx(24 / 80)
    assert eff["ours: training batches"] == pytest.approx(1.0)  # [10, 10] and [2, 2]
    assert eff["ours: evaluation batches"] == pytest.approx(1.0)
    assert 24 / 40 <= eff["dynamic, random order"] <= 1.0


def test_suite_command_prints_a_table_and_records_each_benchmarks_latest_run(tmp_path):
    """Each benchmark run replaces its own entry, with commit, date and machine; the other
    benchmarks' entries stay as they were."""
    out = tmp_path / "bench.json"
    kept = {"commit": "abc1234", "date": "2026-01-01 00:00", "machine": {"cores": 2},
            "repeats": 3, "rows": [{"benchmark": "training throughput"}]}
    out.write_text(json.dumps({"about": "", "benchmarks": {
        "trainer": kept, "padding": {**kept, "rows": []}}}))
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--only", "padding,gpu",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "## padding efficiency" in proc.stdout and "written:" in proc.stdout
    report = json.loads(out.read_text())
    assert list(report["benchmarks"]) == ["trainer", "padding", "gpu"]  # the suite's order
    assert report["benchmarks"]["trainer"] == kept
    padding = report["benchmarks"]["padding"]
    assert padding["machine"]["cores"] >= 1 and padding["commit"] != "abc1234"
    assert padding["date"] > kept["date"] and padding["repeats"] == 1
    demo = [r for r in padding["rows"] if r["case"].startswith("demo/")]
    assert len(demo) == 8 and all(r["met"] for r in demo)
    assert report["benchmarks"]["gpu"]["rows"][0]["benchmark"].startswith("GPU")


def test_committed_results_hold_one_latest_run_per_benchmark():
    """benchmarks/results.json: one entry per benchmark of the suite, each with the commit,
    date and machine that produced its rows."""
    from benchmarks.__main__ import SUITE

    report = json.loads((ROOT / "benchmarks" / "results.json").read_text())
    assert set(report) == {"about", "benchmarks"}
    assert report["benchmarks"] and set(report["benchmarks"]) <= set(SUITE)
    for name, run in report["benchmarks"].items():
        assert run["commit"] and run["date"] and run["machine"]["cores"] >= 1, name
        assert run["rows"] and all(r["benchmark"] == run["rows"][0]["benchmark"]
                                   for r in run["rows"]), name


def test_the_peers_accept_their_arguments(tmp_path):
    """The `transformers` peers are built as the benchmarks build them (an API change of
    `transformers` fails here, not an hour into a benchmark run)."""
    from benchmarks import mlm

    args = mlm.training_arguments(str(tmp_path))
    assert args.warmup_steps == mlm.SETTINGS["warmup_ratio"] and args.num_train_epochs == 1


def test_the_test_command_benchmark_times_what_readme_and_ci_run():
    from benchmarks import test_command

    assert test_command.COMMAND in (ROOT / "README.md").read_text()
    assert test_command.COMMAND in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("ping, state", [(None, "none"), ("UP", "up"), ("DOWN", "down")])
def test_slurm_state_is_the_controllers_answer(tmp_path, monkeypatch, ping, state):
    from benchmarks.common import slurm_state

    if ping:  # stand-ins for Slurm's tools, answering as scontrol ping does
        for tool, out in (("sinfo", ""), ("scontrol", f"Slurmctld(primary) at vm is {ping}")):
            (tmp_path / tool).write_text(f"#!/bin/sh\necho '{out}'\n")
            (tmp_path / tool).chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert slurm_state() == state


def test_each_profiled_operator_counts_in_one_family():
    from benchmarks.trainer import op_family

    expected = {"aten::addmm": "matrix products", "aten::bmm": "matrix products",
                "aten::add_": "elementwise mul / add / div",
                "aten::_softmax_backward_data": "attention softmax",
                "aten::bernoulli_": "dropout masks", "_CPUDropout": "dropout masks",
                "_CPUDropoutBackward": "dropout masks", "_SoftmaxZeroed": "dropout masks",
                "aten::addcmul_": "elementwise mul / add / div", "aten::gelu_backward": "GELU",
                "aten::native_layer_norm_backward": "layer norm",
                "aten::linalg_vector_norm": "sums (bias gradients, norms)",
                "aten::_fused_adamw_": "optimizer", "aten::where": "other"}
    assert {op: op_family(op) for op in expected} == expected


def test_each_trainer_benchmark_system_runs_in_a_fresh_process():
    """Our trainer changes its process's allocator settings: a peer must not inherit them."""
    import os

    import torch

    from benchmarks.trainer import isolated

    assert isolated(1, os.getpid) != os.getpid()
    assert isolated(2, torch.get_num_threads) == 2


def test_the_avx2_stand_in_caps_torch_kernels():
    """The default-run benchmark's stand-in for an AVX2-only CPU: a process started with
    its environment dispatches PyTorch's kernels at AVX2 (a misspelt variable would not)."""
    from benchmarks import default_run

    code = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    out = subprocess.run([sys.executable, "-c", code], env=os.environ | default_run.AVX2,
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out in ("AVX2", "DEFAULT")  # DEFAULT: a CPU without AVX2 at all


def test_where_a_steps_time_goes_with_two_batches_only():
    """A training set of two batches still leaves a step to time (both used to go to the
    warm-up, and the shares divided by zero)."""
    from benchmarks.trainer import Settings, data, where_time_goes

    train, _, _ = data(32, 8, 32)
    shares = where_time_goes(train, Settings(batch_size=16, seed=1))
    phases = sum(v for k, v in shares.items() if k.startswith("step: "))
    ops = sum(v for k, v in shares.items() if k.startswith("ops: "))
    assert phases == pytest.approx(1) and ops == pytest.approx(1)
