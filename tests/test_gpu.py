"""GPU readiness that can be checked without a GPU: a training step reads nothing back from
the device, the per-step log keeps its columns at any `log_every`, the CUDA precision is
chosen from what the device computes natively, fp16 trains with a gradient scaler, gradient
checkpointing leaves the gradients as they were, and the GPU benchmark runs (a CPU smoke
run). One test trains on CUDA where a GPU is present."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ROOT
from test_trainer import TASK, toy_split

from psymtl import encoders, machine, models, trainer, weighting
from psymtl.trainer import Settings, fit, seed_everything

# Python-level reads of a tensor's value: each waits for the GPU's queued work on CUDA
READS = ("item", "tolist", "__float__", "__int__", "__bool__", "__index__", "cpu", "numpy")
# The reads a step still makes, all in the model (listed so that a new read anywhere else
# fails): psymtl.models' masked losses and the Double Encoders' row selection, and
# transformers' check whether a batch's padding mask can be left out of SDPA attention
MODEL_READS = {("models.py", "losses"), ("models.py", "forward"),
               ("masking_utils.py", "_ignore_bidirectional_mask_sdpa")}


def tiny_bert(dropout: float = 0.0):
    """A two-layer `transformers` BertModel with random weights (the toy tokens are < 3100)."""
    from transformers import BertConfig, BertModel

    cfg = BertConfig(vocab_size=3100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64,
                     hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)
    return BertModel(cfg, add_pooling_layer=False)


def run(tmp, model_kind="multihead", weighting_kind="kendall", encoder=None, epochs=2, **kw):
    train, dev = toy_split(64, 1, "train"), toy_split(32, 2, "dev")
    seed_everything(1)
    enc = encoder() if encoder is not None else encoders.load_encoder("tiny-bert", 1)
    model = models.build(model_kind, enc, [TASK])
    s = Settings(epochs=epochs, batch_size=16, lr=2e-3, seed=1, patience=epochs, device="cpu",
                 **kw)
    summary = fit(model, weighting.build({"kind": weighting_kind}, [TASK]), [TASK], train, dev,
                  s, lambda pred: 0.0, tmp, checkpoint_every_s=0.0)
    return model, summary


@pytest.mark.parametrize("encoder", [lambda: encoders.load_encoder("tiny-bert", 1, impl="psymtl"),
                                     lambda: tiny_bert(0.1)],
                         ids=["psymtl.transformer", "transformers"])
@pytest.mark.parametrize("model_kind", ["multihead", "double_encoder"])
def test_a_training_step_reads_nothing_back_from_the_device(tmp_path, monkeypatch, model_kind,
                                                            encoder):
    """Every Python-level read of a tensor's value during the training steps is counted (on
    CUDA each waits for the GPU): none in the trainer, the loss weighting or the optimizer;
    the host reads the step log only every LOG_READ_EVERY steps and at each epoch's end."""
    reads: Counter = Counter()
    inside = {"step": False}

    def spy(name):
        real = getattr(torch.Tensor, name)

        def counted(self, *a, **k):
            if inside["step"]:
                caller = sys._getframe(1).f_code
                reads[(Path(caller.co_filename).name, caller.co_name, name)] += 1
            return real(self, *a, **k)
        monkeypatch.setattr(torch.Tensor, name, counted)

    for name in READS:
        spy(name)
    real_step, real_read = trainer.TrainStep.__call__, trainer.StepLog.read
    host_reads = []

    def step(self, *args):
        inside["step"] = True
        try:
            real_step(self, *args)
        finally:
            inside["step"] = False

    def read(self):
        host_reads.append(self._at[-1][0] if self._at else None)
        return real_read(self)

    monkeypatch.setattr(trainer.TrainStep, "__call__", step)
    monkeypatch.setattr(trainer.StepLog, "read", read)
    monkeypatch.setattr(trainer, "LOG_READ_EVERY", 3)
    _, summary = run(tmp_path, model_kind, encoder=encoder)  # 4 steps an epoch, 2 epochs

    outside = {k: n for k, n in reads.items() if k[:2] not in MODEL_READS}
    assert outside == {}, outside
    assert summary["steps"] == 8
    assert host_reads == [3, 4, 6, 8]  # every 3rd step and each epoch's last


def test_log_every_makes_rows_of_means_over_its_steps(tmp_path):
    """log_every changes the log only: the same training, its rows the means over every 3
    steps (and the epochs' last), the weights those after the row's last step."""
    _, every = run(tmp_path / "1", log_every=1)
    _, third = run(tmp_path / "3", log_every=3)
    steps = [r["loss"] for r in every["log"]]
    assert len(steps) == every["steps"] == third["steps"] == 8
    assert [r["step"] for r in third["log"]] == [3, 4, 6, 8]
    assert [r["epoch"] for r in third["log"]] == [1, 1, 2, 2]
    for row, (a, b) in zip(third["log"], [(0, 3), (3, 4), (4, 6), (6, 8)], strict=True):
        assert row["loss"] == pytest.approx(np.mean(steps[a:b]), rel=1e-12)
        assert row["w_y"] == every["log"][b - 1]["w_y"]
    assert set(third["log"][0]) == set(every["log"][0]) == {"step", "epoch", "loss", "loss_y",
                                                           "w_y"}
    assert every["dev_scores"] == third["dev_scores"]


def test_a_term_absent_from_a_rows_steps_is_nan_and_others_average_without_it():
    log = trainer.StepLog(["a", "b"], every=2, device=torch.device("cpu"))
    w = {"a": torch.tensor(1.0)}
    log.add(1, 1, torch.tensor(2.0), {"a": torch.tensor(2.0)}, w)
    log.add(2, 1, torch.tensor(4.0), {"a": torch.tensor(3.0)}, w)
    log.add(3, 1, torch.tensor(6.0), {"a": torch.tensor(1.0), "b": torch.tensor(5.0)}, w)
    assert log.read() == 6.0
    first, second = log.rows()
    assert (first["loss"], first["loss_a"], first["w_a"]) == (3.0, 2.5, 1.0)
    assert math.isnan(first["loss_b"]) and second["loss_b"] == 5.0 and second["step"] == 3
    with pytest.raises(ValueError, match=r"training\.log_every"):
        trainer.StepLog(["a"], every=0, device=torch.device("cpu"))


@pytest.mark.parametrize("native, asked, chosen", [
    (True, "auto", "bf16"), (False, "auto", "fp16"), (True, "fp16", "fp16"),
    (False, "fp32", "fp32"), (True, "bf16", "bf16")])
def test_cuda_precision_is_bf16_only_where_the_device_has_it(monkeypatch, native, asked,
                                                             chosen):
    monkeypatch.setattr(machine, "cuda_bf16", lambda device=None: native)
    cuda = torch.device("cuda")
    assert trainer.precision(cuda, Settings(cuda_precision=asked)) == chosen
    assert trainer.use_bf16(cuda, Settings(cuda_precision=asked)) == (chosen == "bf16")


def test_bf16_asked_of_a_device_without_it_names_the_setting_and_the_device(monkeypatch):
    monkeypatch.setattr(machine, "cuda_bf16", lambda device=None: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla V100-SXM2")
    with pytest.raises(ValueError, match=r"training.cuda_precision: bf16 .* Tesla V100"):
        trainer.precision(torch.device("cuda"), Settings(cuda_precision="bf16"))
    with pytest.raises(ValueError, match=r"training\.cuda_precision: 'tf32'"):
        trainer.precision(torch.device("cuda"), Settings(cuda_precision="tf32"))


def test_fp16_trains_with_a_gradient_scaler_that_a_checkpoint_keeps(tmp_path, monkeypatch):
    """The fp16 path (a CUDA device without native bf16), run on the CPU: fp16 autocast, the
    loss scaled, the gradients unscaled before clipping, the scaler's state checkpointed."""
    monkeypatch.setattr(trainer, "precision", lambda device, s: "fp16")
    _, summary = run(tmp_path)
    assert (summary["precision"], summary["grad_scaler"], summary["bf16_autocast"]) == (
        "fp16", True, False)
    assert all(np.isfinite(r["loss"]) for r in summary["log"])
    saved = torch.load(tmp_path / "resume.pt", weights_only=False)["scaler"]
    assert saved["scale"] > 0


def _grads(model: models.TaskModel) -> dict[str, torch.Tensor]:
    batch = toy_split(16, 3, "b").batch(np.arange(16), torch.device("cpu"))
    model.train()
    model.zero_grad()
    loss = sum(model.losses(model(**batch), batch, "kl", {TASK.name: 16.0}).values())
    loss.backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("dropout", [0.0, 0.1])
def test_gradient_checkpointing_recomputes_layers_and_leaves_gradients_equal(dropout):
    torch.manual_seed(0)
    plain = models.build("multihead", tiny_bert(dropout), [TASK], dropout=0.0)
    ckpt = models.build("multihead", tiny_bert(dropout), [TASK], dropout=0.0)
    ckpt.load_state_dict(plain.state_dict())
    calls = Counter()
    for name, m in (("plain", plain), ("ckpt", ckpt)):
        m.encoder.encoder.layer[0].attention.register_forward_hook(
            lambda *_, name=name: calls.update([name]))
    trainer.enable_gradient_checkpointing(ckpt)
    torch.manual_seed(1)
    expected = _grads(plain)
    torch.manual_seed(1)
    got = _grads(ckpt)
    assert calls == {"plain": 1, "ckpt": 2}  # the layer ran again in the backward pass
    assert expected.keys() == got.keys() and len(got) > 10
    for name, g in expected.items():
        torch.testing.assert_close(got[name], g, rtol=1e-6, atol=1e-7, msg=name)


def test_a_run_with_gradient_checkpointing_records_it(tmp_path):
    model, summary = run(tmp_path, encoder=tiny_bert, epochs=1, gradient_checkpointing=True)
    enc = model.encoder
    on = (enc.is_activation_checkpointing if hasattr(enc, "is_activation_checkpointing")
          else enc.is_gradient_checkpointing)  # transformers 5 / 4
    assert summary["gradient_checkpointing"] and on
    assert np.isfinite(summary["log"][-1]["loss"])


def test_gradient_checkpointing_on_an_encoder_without_it_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="training.gradient_checkpointing: the encoder "
                                         r"psymtl\.transformer\.\w+ has no gradient"):
        run(tmp_path, encoder=lambda: encoders.load_encoder("tiny-bert", 1, impl="psymtl"),
            epochs=1, gradient_checkpointing=True)


def test_the_gpu_benchmark_runs_its_cpu_smoke_mode(tmp_path):
    """`python -m benchmarks.gpu --device cpu`: both systems timed on a two-layer BERT, the
    rows in the suite's form (MFU is NaN: no bf16 peak for a CPU)."""
    out = tmp_path / "gpu.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.gpu", "--device", "cpu", "--out",
                           str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    by = {r["measure"]: r for r in rows}
    for system in ("ours", "Trainer"):
        assert by[f"{system}: examples/s"]["value"] > 0
        assert by[f"{system}: tokens/s"]["value"] == pytest.approx(
            32 * by[f"{system}: examples/s"]["value"])
        assert by[f"{system}: tokens/s"]["details"]["precision"] == "fp32"
    assert by["ours: tokens/s"]["ratio"] > 0 and by["Trainer: tokens/s"]["ratio"] is None
    assert all(set(r) >= {"benchmark", "case", "measure", "value", "unit", "ratio", "details"}
               for r in rows)


def test_the_peak_table_matches_device_names():
    from benchmarks.gpu import peak

    assert peak("NVIDIA H100 80GB HBM3") == 989e12
    assert peak("NVIDIA H100 PCIe") == 756e12
    assert peak("NVIDIA H200") == 989e12
    assert peak("NVIDIA A100-SXM4-80GB") == 312e12
    assert peak("NVIDIA A10") == 125e12 and peak("NVIDIA L40S") == 362e12
    assert peak("Tesla V100-SXM2-16GB") is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_training_steps_on_cuda_are_finite_in_the_devices_precision_without_syncs(
        tmp_path, monkeypatch):
    """Training on the GPU with `transformers`' BertModel: finite losses, bf16 where the device
    has it (else fp16 with a scaler), and no synchronisation in a step after the first
    (torch's sync debug mode) but the model's (MODEL_READS) and, under fp16, the gradient
    scaler's overflow check."""
    syncs: list[tuple[str, int]] = []
    real_step = trainer.TrainStep.__call__

    def watched(self, data, idx, step, epoch):
        if step == 1:  # the first step allocates and initialises (cuBLAS, optimizer state)
            return real_step(self, data, idx, step, epoch)
        torch.cuda.set_sync_debug_mode("warn")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                real_step(self, data, idx, step, epoch)
        finally:
            torch.cuda.set_sync_debug_mode(0)
        syncs.extend((Path(w.filename).name, w.lineno) for w in caught
                     if "synchroniz" in str(w.message))

    monkeypatch.setattr(trainer.TrainStep, "__call__", watched)
    train, dev = toy_split(64, 1, "train"), toy_split(32, 2, "dev")
    seed_everything(1)
    model = models.build("multihead", tiny_bert(0.1), [TASK])
    s = Settings(epochs=1, batch_size=16, lr=2e-3, seed=1, device="cuda")
    summary = fit(model, weighting.build({"kind": "kendall"}, [TASK]), [TASK], train, dev, s,
                  lambda pred: 0.0, tmp_path)
    expected = "bf16" if machine.cuda_bf16() else "fp16"
    assert summary["precision"] == expected and summary["device"] == "cuda"
    assert all(np.isfinite(r["loss"]) for r in summary["log"]) and summary["steps"] == 4
    allowed = {f for f, _ in MODEL_READS} | ({"grad_scaler.py"} if expected == "fp16" else set())
    assert [s for s in syncs if s[0] not in allowed] == []
