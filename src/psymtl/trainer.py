"""The training loop shared by every model: length-grouped dynamic-padding batches, AdamW with
warm-up, gradient clipping, best-dev selection with early stopping, epoch checkpoints that a
killed job resumes from, bf16 autocast on CUDA and on CPUs with native bf16, deterministic on
CPU for a given seed."""

from __future__ import annotations

import copy
import logging
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from psymtl import batching, machine
from psymtl.io import atomic_path
from psymtl.logs import progress
from psymtl.optim import adamw, lr_schedule
from psymtl.tasks import Task

log = logging.getLogger(__name__)

CHECKPOINT_EVERY_S = 60.0
"""An epoch is checkpointed once this much training time has passed since the run's start or
its last checkpoint: a killed job redoes at most that plus one epoch. A MiniLM checkpoint
(model, optimizer moments, best state: about 0.4 GB) takes about half a second to write, more
than redoing the few seconds of a small run's epoch would."""


@dataclass
class Settings:
    """The trainer's settings of a run. The defaults are config.yaml's `training` values
    (tests/test_config.py checks that they agree); the config schema names the same keys."""

    epochs: int = 2
    batch_size: int = 16
    eval_batch_size: int = 64
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    schedule: str = "linear"
    grad_clip: float = 1.0
    patience: int = 2
    seed: int = 1
    mixing: str = "proportional"
    distance: str = "kl"
    device: str = "auto"
    bf16: bool = True
    cpu_bf16: bool = True

    @classmethod
    def from_dict(cls, d: dict) -> Settings:
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class Split:
    """Tokenised examples of one split, their targets and where they came from."""

    keys: pd.DataFrame  # id, split, dataset
    ids: list[np.ndarray]
    layout: dict  # prefix / suffix / pad_id
    targets: dict[str, np.ndarray]
    present: dict[str, np.ndarray]
    lengths: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        extra = len(self.layout["prefix"]) + len(self.layout["suffix"])
        self.lengths = np.asarray([len(s) + extra for s in self.ids], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, rows: np.ndarray) -> Split:
        """The examples where ``rows`` (a boolean mask) is true."""
        idx = np.flatnonzero(rows)
        return Split(keys=self.keys.iloc[idx].reset_index(drop=True),
                     ids=[self.ids[i] for i in idx], layout=self.layout,
                     targets={k: v[idx] for k, v in self.targets.items()},
                     present={k: v[idx] for k, v in self.present.items()})

    def batch(self, idx: np.ndarray, device: torch.device) -> dict[str, torch.Tensor]:
        b = batching.collate([self.ids[i] for i in idx], self.layout["prefix"],
                             self.layout["suffix"], self.layout["pad_id"])
        for name, y in self.targets.items():
            b[f"y_{name}"] = torch.as_tensor(y[idx])
            b[f"m_{name}"] = torch.as_tensor(self.present[name][idx])
        return {k: v.to(device) for k, v in b.items()}


def loss_normalisers(train: Split, tasks: Sequence[Task], steps: int) -> dict[str, float]:
    """Per task: the mean number of examples of its dataset per training step. A task's loss
    term divides its per-example sum by this (``losses.term``), so under any mixing of
    datasets and any batch composition each example weighs the same; examples of the dataset
    without a target (FIG's non-lonely posts for the fine-grained tasks) count in the
    denominator with loss 0, as in FIG-Loneliness Eq. 1's 1/N sum over all posts."""
    datasets = train.keys["dataset"].to_numpy()
    return {t.name: max(int((datasets == t.dataset).sum()), 1) / max(steps, 1) for t in tasks}


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    # use_deterministic_algorithms(True, warn_only=True) without its torch._inductor import
    # (~0.9 s a process; inductor's flag matters to torch.compile only, which is not used)
    torch.set_deterministic_debug_mode("warn")
    # but no NaN fill of every new tensor (a debugging aid for kernels that read memory they
    # did not write; none does here, so numbers stay the same): a pass over each activation
    # and gradient, ~2% of a step
    torch.utils.deterministic.fill_uninitialized_memory = False


def pick_device(pref: str = "auto") -> torch.device:
    """CUDA when asked for or available (the GPU Slurm gave via CUDA_VISIBLE_DEVICES), else CPU."""
    if pref == "cpu" or (pref == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError("device: cuda was requested but no CUDA device is visible")
    return torch.device("cuda")


@torch.no_grad()
def predict(model: nn.Module, tasks: Sequence[Task], data: Split, batch_size: int,
            device: torch.device, bf16: bool = False, label: str | None = None
            ) -> dict[str, np.ndarray]:
    """Per-task probabilities (or values) and any extra outputs, in the order of ``data``;
    ``bf16``: under bf16 autocast (see :func:`use_bf16`); ``label``: show a progress bar
    with that label."""
    model.eval()
    chunks: dict[str, list[np.ndarray]] = {}
    order = []
    batches = batching.eval_batches(data.lengths, batch_size)
    for idx in (progress(batches, label, unit="batch") if label else batches):
        b = data.batch(idx, device)
        with _autocast(device, bf16):
            out = model(**b)
        for t in tasks:
            chunks.setdefault(t.name, []).append(t.kind.probabilities(out[t.name]).cpu().numpy())
        for k, v in out.items():
            if k.startswith("_"):
                chunks.setdefault(k, []).append(v.float().cpu().numpy())
        order.append(idx)
    inverse = np.argsort(np.concatenate(order)) if order else np.array([], dtype=int)
    return {k: np.concatenate(v)[inverse] for k, v in chunks.items()}


def _autocast(device: torch.device, bf16: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)


def use_bf16(device: torch.device, s: Settings) -> bool:
    """bf16 autocast: on CUDA when ``bf16``; on the CPU when ``cpu_bf16`` and the CPU has
    native bf16 (:func:`psymtl.machine.native_bf16`; emulated bf16 would be far slower)."""
    if device.type == "cuda":
        return s.bf16
    if not s.cpu_bf16:
        return False
    if not machine.native_bf16():
        log.info("cpu_bf16: this CPU has no native bf16 (its flags): fp32")
        return False
    log.info("cpu_bf16: bf16 autocast on the CPU (native bf16)")
    return True


def fit(model: nn.Module, combiner: nn.Module, tasks: Sequence[Task], train: Split,
        dev: Split, s: Settings, select: Callable[[dict[str, np.ndarray]], float],
        run_dir: str | Path, identity: dict | None = None,
        checkpoint_every_s: float = CHECKPOINT_EVERY_S) -> dict:
    """Train, keep the best-dev state in ``model``; return a summary with the per-step log and
    ``dev_predictions``, the predictions on ``dev`` of that state (made when it was selected).
    A checkpoint (see :data:`CHECKPOINT_EVERY_S`) is resumed only by the same run: same
    ``s``, ``identity`` (the complete settings of the condition), training examples and model
    shapes."""
    run_dir = Path(run_dir)
    ckpt = run_dir / "resume.pt"
    device = pick_device(s.device)
    placement = {"device": str(device),
                 "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
                 "slurm_job_id": os.environ.get("SLURM_JOB_ID")}
    log.info("training on %(device)s (CUDA_VISIBLE_DEVICES=%(cuda_visible_devices)s, "
             "SLURM_JOB_ID=%(slurm_job_id)s)", placement)
    seed_everything(s.seed)
    machine.keep_freed_memory()
    bf16 = use_bf16(device, s)
    model.to(device)
    combiner.to(device)
    optim = adamw(_param_groups(model, combiner, s.weight_decay), lr=s.lr)
    groups = train.keys["dataset"].to_numpy()
    steps_per_epoch = len(batching.train_batches(train.lengths, groups, s.batch_size, s.seed, 0,
                                                 s.mixing))
    total = steps_per_epoch * s.epochs
    norm = loss_normalisers(train, tasks, steps_per_epoch)
    sched = lr_schedule(optim, s.schedule, math.ceil(s.warmup_ratio * total), total)
    state = {"epoch": 0, "best": -math.inf, "best_epoch": -1, "bad": 0, "best_state": None,
             "best_pred": None, "log": [], "dev_scores": [], "seconds": 0.0, "tokens": 0,
             "examples": 0}
    run_key = {"settings": asdict(s), "identity": identity,
               "train_ids": train.keys["id"].tolist(),
               "params": {k: tuple(v.shape) for k, v in model.state_dict().items()}}
    if ckpt.exists():
        resumed = _resume(ckpt, run_key, model, combiner, optim, sched)
        if resumed is None:
            log.warning("%s belongs to a run with other settings, data or model; starting over",
                        ckpt)
        else:
            state = resumed
            log.info("resumed from %s at epoch %d", ckpt, state["epoch"])
    since_checkpoint = 0.0

    while state["epoch"] < s.epochs and state["bad"] < s.patience:
        epoch = state["epoch"]
        model.train()
        t0 = time.perf_counter()
        batches = batching.train_batches(train.lengths, groups, s.batch_size, s.seed, epoch,
                                         s.mixing)
        bar = progress(batches, f"epoch {epoch + 1}/{s.epochs}", unit="batch")
        for idx in bar:
            b = train.batch(idx, device)
            with _autocast(device, bf16):
                out = model(**b)
            losses = model.losses(out, b, s.distance, norm)
            loss = combiner(losses)
            optim.zero_grad()
            loss.backward()
            if s.grad_clip:
                nn.utils.clip_grad_norm_(list(model.parameters()) + list(combiner.parameters()),
                                         s.grad_clip)
            optim.step()
            sched.step()
            state["tokens"] += int(b["attention_mask"].sum())
            state["examples"] += len(idx)
            state["log"].append({"step": len(state["log"]) + 1, "epoch": epoch + 1,
                                 "loss": float(loss.detach()),
                                 **{f"loss_{k}": float(v.detach()) for k, v in losses.items()},
                                 **{f"w_{k}": v for k, v in combiner.weights().items()}})
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}", refresh=False)
        elapsed = time.perf_counter() - t0
        state["seconds"] += elapsed
        since_checkpoint += elapsed
        pred = predict(model, tasks, dev, s.eval_batch_size, device, bf16)
        score = select(pred)
        state["dev_scores"].append(score)
        log.info("epoch %d: dev score %.4f", epoch + 1, score)
        if score > state["best"]:
            state.update(best=score, best_epoch=epoch + 1, bad=0, best_pred=pred,
                         best_state=_cpu_copy(model.state_dict()))
        else:
            state["bad"] += 1
        state["epoch"] = epoch + 1
        if (since_checkpoint >= checkpoint_every_s  # the last epoch needs none
                and state["epoch"] < s.epochs and state["bad"] < s.patience):
            _checkpoint(ckpt, run_key, state, model, combiner, optim, sched)
            since_checkpoint = 0.0

    if state["best_state"] is not None:
        model.load_state_dict(state["best_state"])
    summary = {k: state[k] for k in ("best", "best_epoch", "dev_scores", "seconds", "tokens",
                                     "examples")}
    summary |= {"epochs_run": state["epoch"], "steps": len(state["log"]), **placement,
                "loss_normalisers": norm, "bf16_autocast": bf16,
                "loss_weights_lr": getattr(combiner, "lr", None) if any(
                    p.requires_grad for p in combiner.parameters()) else None}
    summary["train_examples_per_s"] = state["examples"] / max(state["seconds"], 1e-9)
    summary["train_tokens_per_s"] = state["tokens"] / max(state["seconds"], 1e-9)
    summary["log"] = state["log"]
    summary["dev_predictions"] = state.get("best_pred")
    return summary


def _param_groups(model: nn.Module, combiner: nn.Module, wd: float) -> list[dict]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 or "LayerNorm" in name or "norm" in name else decay).append(p)
    groups = [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]
    weights = [p for p in combiner.parameters() if p.requires_grad]
    if weights:
        groups.append({"params": weights, "weight_decay": 0.0, "lr": combiner.lr})
        log.info("learned loss weights: %d parameters at lr %g", sum(p.numel() for p in weights),
                 combiner.lr)
    return groups


def _cpu_copy(sd: dict) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in sd.items()}


def _checkpoint(path: Path, run_key: dict, state: dict, model, combiner, optim, sched) -> None:
    payload = {"run_key": run_key, "state": copy.copy(state), "model": model.state_dict(),
               "combiner": combiner.state_dict(), "optim": optim.state_dict(),
               "sched": sched.state_dict(), "torch_rng": torch.get_rng_state(),
               "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def _resume(path: Path, run_key: dict, model, combiner, optim, sched) -> dict | None:
    """The saved training state, restored into the objects; None if it is another run's."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise RuntimeError(f"checkpoint {path} is unreadable ({exc}); delete it to start over"
                           ) from None
    if payload.get("run_key") != run_key:
        return None
    model.load_state_dict(payload["model"])
    combiner.load_state_dict(payload["combiner"])
    optim.load_state_dict(payload["optim"])
    sched.load_state_dict(payload["sched"])
    torch.set_rng_state(payload["torch_rng"])
    if payload["cuda_rng"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(payload["cuda_rng"])
    return payload["state"]
