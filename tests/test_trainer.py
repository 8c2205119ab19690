"""The training core on a tiny from-scratch encoder: it learns, is deterministic, resumes."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from psymtl import encoders, models, weighting
from psymtl.experiment import Selection, selector
from psymtl.kinds import KINDS
from psymtl.tasks import Task
from psymtl.trainer import Settings, Split, fit, predict, seed_everything

TASK = Task("y", KINDS["classification"], "toy", "y", ("neg", "pos"))
LAYOUT = {"prefix": [101], "suffix": [102], "pad_id": 0}


def toy_split(n: int, seed: int, name: str) -> Split:
    """Class 1 sequences contain token 2000, class 0 token 3000, among random filler."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    ids = []
    for label in y:
        seq = rng.integers(1000, 1100, rng.integers(4, 20))
        seq[rng.integers(len(seq))] = 2000 if label else 3000
        ids.append(seq)
    keys = pd.DataFrame({"id": [f"{name}{i}" for i in range(n)], "split": name,
                         "dataset": "toy"})
    return Split(keys=keys, ids=ids, layout=LAYOUT, targets={"y": y},
                 present={"y": np.ones(n, dtype=bool)})


def train_once(tmp, epochs=3, seed=5, select=None, checkpoint_every_s=0.0):
    """A tiny run; its epochs take milliseconds, so by default every one is checkpointed."""
    train, dev = toy_split(160, 1, "train"), toy_split(60, 2, "dev")
    seed_everything(seed)
    model = models.build("multihead", encoders.load_encoder("tiny-bert", seed), [TASK])
    s = Settings(epochs=epochs, batch_size=16, lr=2e-3, seed=seed, patience=5, device="cpu")
    summary = fit(model, weighting.build({"kind": "fixed"}, [TASK]), [TASK], train, dev, s,
                  select or selector(Selection(metric="accuracy"), [TASK], dev), tmp,
                  checkpoint_every_s=checkpoint_every_s)
    return model, summary, predict(model, [TASK], dev, 32, torch.device("cpu"),
                                   summary["bf16_autocast"])


def test_learns_a_separable_task(tmp_path):
    # five epochs: every seed 1-8 then reaches 1.0; after three, 0.85-0.97 by seed
    _, summary, _ = train_once(tmp_path, epochs=5)
    assert summary["best"] > 0.9  # chance is about 0.5
    assert summary["log"][0]["loss"] > summary["log"][-1]["loss"]
    assert summary["train_examples_per_s"] > 0


def test_no_checkpoint_after_the_last_epoch(tmp_path):
    """A checkpoint is written only where another epoch follows (it costs four copies of the
    model on disk); a one-epoch run writes none."""
    train_once(tmp_path / "one", epochs=1)
    assert not (tmp_path / "one" / "resume.pt").exists()
    _, summary, _ = train_once(tmp_path / "two", epochs=2)
    saved = torch.load(tmp_path / "two" / "resume.pt", weights_only=False)["state"]["epoch"]
    assert (saved, summary["epochs_run"]) == (1, 2)


def test_epochs_shorter_than_a_checkpoint_is_worth_are_not_checkpointed(tmp_path):
    """With the default policy a run whose epochs take milliseconds writes no checkpoint:
    redoing them costs less than writing the model and optimizer state."""
    from psymtl.trainer import CHECKPOINT_EVERY_S

    train_once(tmp_path, epochs=3, checkpoint_every_s=CHECKPOINT_EVERY_S)
    assert not (tmp_path / "resume.pt").exists()


def test_same_seed_same_numbers(tmp_path):
    _, s1, p1 = train_once(tmp_path / "a", epochs=2)
    _, s2, p2 = train_once(tmp_path / "b", epochs=2)
    assert np.array_equal(p1["y"], p2["y"])
    assert [r["loss"] for r in s1["log"]] == [r["loss"] for r in s2["log"]]
    _, _, p3 = train_once(tmp_path / "c", epochs=2, seed=6)
    assert not np.array_equal(p1["y"], p3["y"])


def test_interrupted_run_resumes_to_the_same_result(tmp_path):
    _, full, p_full = train_once(tmp_path / "full", epochs=3)
    dev = toy_split(60, 2, "dev")
    score = selector(Selection(metric="accuracy"), [TASK], dev)
    calls = {"n": 0}

    def crash_in_epoch_two(pred):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed")
        return score(pred)

    with pytest.raises(KeyboardInterrupt):
        train_once(tmp_path / "cut", epochs=3, select=crash_in_epoch_two)
    assert (tmp_path / "cut" / "resume.pt").exists()
    _, resumed, p_res = train_once(tmp_path / "cut", epochs=3)
    assert np.array_equal(p_full["y"], p_res["y"])
    assert resumed["dev_scores"] == full["dev_scores"]


def test_sigkilled_training_process_resumes_to_the_same_metrics(tmp_path, caplog):
    """A real process killed with SIGKILL after its first epoch checkpoint; the rerun resumes
    from that checkpoint and ends with the numbers of an uninterrupted run."""
    _, full, p_full = train_once(tmp_path / "full", epochs=6)
    cut = tmp_path / "cut"
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        import torch
        torch.set_num_threads({torch.get_num_threads()})  # as here: same float reductions
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_trainer import train_once
        train_once(Path({str(cut)!r}), epochs=6)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 120
    while not (cut / "resume.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    done = torch.load(cut / "resume.pt", weights_only=False)["state"]["epoch"]
    assert 1 <= done < 6, f"killed after epoch {done}: not mid-run"
    with caplog.at_level(logging.INFO, logger="psymtl.trainer"):
        _, resumed, p_res = train_once(cut, epochs=6)
    assert f"at epoch {done}" in caplog.text
    assert np.array_equal(p_full["y"], p_res["y"])
    assert resumed["dev_scores"] == full["dev_scores"]
    assert [r["loss"] for r in resumed["log"]] == [r["loss"] for r in full["log"]]


def test_checkpoint_of_other_settings_is_not_resumed(tmp_path, caplog):
    train_once(tmp_path / "a", epochs=2)  # leaves its epoch-1 checkpoint
    with caplog.at_level(logging.INFO, logger="psymtl.trainer"):
        _, other, _ = train_once(tmp_path / "a", epochs=3)  # epochs edited: a new run
    assert "starting over" in caplog.text
    _, fresh, _ = train_once(tmp_path / "b", epochs=3)
    assert other["dev_scores"] == fresh["dev_scores"]


def test_early_stopping_keeps_best_dev_state(tmp_path):
    scores = iter([0.5, 0.9, 0.4, 0.3, 0.2])
    _, summary, p_kept = train_once(tmp_path, epochs=5, select=lambda p: next(scores))
    assert summary["best_epoch"] == 2 and summary["epochs_run"] == 5
    # the dev predictions fit hands back (epoch 2's) are the kept state's, bit for bit
    assert np.array_equal(summary["dev_predictions"]["y"], p_kept["y"])


def test_cpu_bf16_is_used_only_where_the_cpu_has_native_bf16(monkeypatch, caplog):
    from psymtl import machine, trainer

    cpu = torch.device("cpu")
    assert not trainer.use_bf16(cpu, Settings(cpu_bf16=False))  # fp32 when asked for
    monkeypatch.setattr(machine, "cpu_flags", lambda: {"avx2", "fma"})  # emulated bf16
    with caplog.at_level(logging.INFO):
        assert not trainer.use_bf16(cpu, Settings())
    assert "fp32" in caplog.text
    for flag in ("avx512_bf16", "amx_bf16", "bf16"):  # x86 and Arm bf16 units
        monkeypatch.setattr(machine, "cpu_flags", lambda flag=flag: {"avx2", flag})
        assert trainer.use_bf16(cpu, Settings())  # the default: on where it is native
        assert not trainer.use_bf16(cpu, Settings(cpu_bf16=False))


def test_cpu_bf16_training_runs_and_is_recorded(tmp_path, monkeypatch):
    from psymtl import trainer

    monkeypatch.setattr(trainer.machine, "cpu_flags", lambda: {"avx512_bf16"})
    train, dev = toy_split(64, 1, "train"), toy_split(32, 2, "dev")
    seed_everything(1)
    model = models.build("multihead", encoders.load_encoder("tiny-bert", 1), [TASK])
    s = Settings(epochs=1, batch_size=16, lr=2e-3, seed=1, device="cpu", cpu_bf16=True)
    summary = fit(model, weighting.build({"kind": "fixed"}, [TASK]), [TASK], train, dev, s,
                  selector(Selection(), [TASK], dev), tmp_path)
    assert summary["bf16_autocast"] is True and np.isfinite(summary["log"][-1]["loss"])
    assert (summary["precision"], summary["grad_scaler"]) == ("bf16", False)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_a_training_process_reuses_the_memory_it_frees():
    """A block the size of MiniLM's word-embedding gradient, allocated and freed as every
    step does: mapped afresh each time by default (a page fault for each 4 KiB page), reused
    once `keep_freed_memory` is on."""
    code = textwrap.dedent("""
        import resource, sys, torch
        from psymtl import machine
        if sys.argv[1] == "on":
            assert machine.keep_freed_memory()
        faults = []
        for _ in range(12):
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            torch.zeros(30522, 384)  # 47 MB, freed at once
            faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        print(min(faults[-4:]))
    """)
    faults = {mode: int(subprocess.run([sys.executable, "-c", code, mode], capture_output=True,
                                       text=True, check=True).stdout)
              for mode in ("off", "on")}
    pages = 30522 * 384 * 4 // 4096
    assert faults["off"] > pages // 2  # the test can tell
    assert faults["on"] < pages // 100
