"""The training loop shared by every model: length-grouped dynamic-padding batches, AdamW with
warm-up, gradient clipping, best-dev selection with early stopping, epoch checkpoints that a
killed job resumes from, deterministic on CPU for a given seed.

Precision (:func:`precision`): bf16 autocast on CUDA devices with native bf16, fp16 autocast
with a gradient scaler on the others, or fp32 (``cuda_precision``); on the CPU bf16 where the
CPU has native bf16 units (``cpu_bf16``). A training step reads nothing back from the device:
its losses and loss weights stay device tensors (:class:`StepLog`) that the host reads in one
transfer every :data:`LOG_READ_EVERY` steps and at the epoch's end."""

from __future__ import annotations

import copy
import logging
import math
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
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

LOG_READ_EVERY = 50
"""Steps between the host's reads of the per-step log (:class:`StepLog`): on a GPU each read
waits for the queued work (a synchronisation), so one per 50 steps rather than one per step;
it refreshes the loss the progress bar shows. The epoch's end reads the rest. Which steps read
changes no number."""

CUDA_PRECISIONS = ("auto", "bf16", "fp16", "fp32")
AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16}


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
    cuda_precision: str = "auto"
    cpu_bf16: bool = True
    gradient_checkpointing: bool = False
    log_every: int = 1

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
        if device.type == "cuda":  # page-locked: the copies queue behind the GPU's work
            return {k: v.pin_memory().to(device, non_blocking=True) for k, v in b.items()}
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
            device: torch.device, precision: str | bool = "fp32", label: str | None = None
            ) -> dict[str, np.ndarray]:
    """Per-task probabilities (or values) and any extra outputs, in the order of ``data``;
    ``precision``: the autocast of :func:`precision` (``True`` / ``False``: bf16 / fp32, as a
    saved run records it); ``label``: show a progress bar with that label."""
    model.eval()
    chunks: dict[str, list[np.ndarray]] = {}
    order = []
    batches = batching.eval_batches(data.lengths, batch_size)
    for idx in (progress(batches, label, unit="batch") if label else batches):
        b = data.batch(idx, device)
        with _autocast(device, precision):
            out = model(**b)
        for t in tasks:
            chunks.setdefault(t.name, []).append(t.kind.probabilities(out[t.name]).cpu().numpy())
        for k, v in out.items():
            if k.startswith("_"):
                chunks.setdefault(k, []).append(v.float().cpu().numpy())
        order.append(idx)
    inverse = np.argsort(np.concatenate(order)) if order else np.array([], dtype=int)
    return {k: np.concatenate(v)[inverse] for k, v in chunks.items()}


def _autocast(device: torch.device, precision: str | bool):
    if isinstance(precision, bool):
        precision = "bf16" if precision else "fp32"
    dtype = AUTOCAST.get(precision)
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def precision(device: torch.device, s: Settings) -> str:
    """The autocast of a run on ``device``: ``bf16``, ``fp16`` (with a gradient scaler) or
    ``fp32``.

    CUDA, ``cuda_precision``: ``auto`` takes bf16 where the device computes it natively
    (:func:`psymtl.machine.cuda_bf16`: compute capability 8.0 and up, A100 / H100 / L4 / RTX
    30xx on), else fp16 with a gradient scaler (V100, T4: bf16 there is emulated); ``bf16``
    on a device without native bf16 is an error; ``fp16`` and ``fp32`` as named.
    CPU: bf16 when ``cpu_bf16`` and the CPU has native bf16 (:func:`psymtl.machine.native_bf16`;
    emulated bf16 would be far slower), else fp32."""
    if device.type == "cuda":
        asked = s.cuda_precision
        if asked not in CUDA_PRECISIONS:
            raise ValueError(f"training.cuda_precision: {asked!r} is none of "
                             f"{', '.join(CUDA_PRECISIONS)}")
        native = machine.cuda_bf16(device)
        if asked == "bf16" and not native:
            raise ValueError(f"training.cuda_precision: bf16 was asked for, but "
                             f"{torch.cuda.get_device_name(device)} has no native bf16 (compute "
                             "capability below 8.0); use auto (fp16 with a gradient scaler) "
                             "or fp32")
        chosen = ("bf16" if native else "fp16") if asked == "auto" else asked
        log.info("cuda_precision %s: %s autocast%s", asked, chosen,
                 " with a gradient scaler" if chosen == "fp16" else "")
        return chosen
    if not s.cpu_bf16:
        return "fp32"
    if not machine.native_bf16():
        log.info("cpu_bf16: this CPU has no native bf16 (its flags): fp32")
        return "fp32"
    log.info("cpu_bf16: bf16 autocast on the CPU (native bf16)")
    return "bf16"


def use_bf16(device: torch.device, s: Settings) -> bool:
    """Whether :func:`precision` picks bf16 autocast."""
    return precision(device, s) == "bf16"


def enable_gradient_checkpointing(model: nn.Module) -> None:
    """Recompute the encoder's layer activations in the backward pass instead of keeping them
    (less memory, about a third more compute), through the encoder's own switch: a
    ``transformers`` model's ``activation_checkpointing_enable`` (``transformers`` 5;
    ``gradient_checkpointing_enable`` before). Any other encoder is an error naming it."""
    enc = getattr(model, "encoder", None)
    if not getattr(enc, "supports_gradient_checkpointing", False):
        raise ValueError(f"training.gradient_checkpointing: the encoder "
                         f"{type(enc).__module__}.{type(enc).__name__} has no gradient "
                         "checkpointing (only transformers' models do); set it to false")
    kwargs = {"use_reentrant": False}  # no input needs to require gradients
    if hasattr(enc, "activation_checkpointing_enable"):
        enc.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        enc.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
    log.info("gradient checkpointing: on (%s)", type(enc).__name__)


class StepLog:
    """The per-step log of training, kept without a device read per step.

    Each step's loss, loss terms (NaN where the batch had no example of the term's task) and
    loss weights are stacked into one device tensor (:meth:`add`); :meth:`read` copies the
    pending ones to the host in one transfer. :meth:`rows` makes the rows of
    ``train_log.csv`` from what was read: one per ``every`` optimizer steps and one at each
    epoch's end, with the ``step`` and ``epoch`` of its last step; ``loss`` and ``loss_<term>``
    are means over the row's steps (a term's over the steps that had it), ``w_<weight>`` the
    weights after the row's last step."""

    def __init__(self, terms: Sequence[str], every: int, device: torch.device):
        if every < 1:
            raise ValueError(f"training.log_every: {every} is not a positive number of steps")
        self.terms, self.every = list(terms), every
        self.weights: list[str] | None = None
        self._nan = torch.full((), math.nan, device=device)
        self._pending: list[torch.Tensor] = []
        self._at: list[tuple[int, int]] = []  # (step, epoch) of each pending or read step
        self._read: list[np.ndarray] = []

    def add(self, step: int, epoch: int, loss: torch.Tensor, losses: Mapping[str, torch.Tensor],
            weights: Mapping[str, torch.Tensor]) -> None:
        if self.weights is None:
            self.weights = list(weights)
        values = [loss, *(losses.get(k, self._nan) for k in self.terms),
                  *(weights[k] for k in self.weights)]
        self._pending.append(torch.stack([v.detach().float() for v in values]))
        self._at.append((step, epoch))

    def read(self) -> float:
        """Copy the pending steps to the host (one synchronisation on a GPU); the last step's
        loss (NaN before any)."""
        if self._pending:
            self._read += list(torch.stack(self._pending).cpu().numpy())
            self._pending = []
        return float(self._read[-1][0]) if self._read else math.nan

    def rows(self) -> list[dict]:
        """The rows of every step read so far (the last one ends a row: call at an epoch's
        end, after :meth:`read`)."""
        out, start = [], 0
        for i, (step, epoch) in enumerate(self._at[:len(self._read)]):
            if step % self.every and i < len(self._read) - 1:
                continue
            window = np.stack(self._read[start:i + 1]).astype(np.float64)
            n = 1 + len(self.terms)
            counts = (~np.isnan(window[:, :n])).sum(0)
            means = np.where(counts > 0, np.nansum(window[:, :n], 0) / np.maximum(counts, 1),
                             math.nan)
            names = ["loss", *(f"loss_{k}" for k in self.terms),
                     *(f"w_{k}" for k in self.weights or [])]
            values = [*means, *window[-1, n:]]
            out.append({"step": step, "epoch": epoch,
                        **{k: float(v) for k, v in zip(names, values, strict=True)}})
            start = i + 1
        self._at, self._read = self._at[len(self._read):], []
        return out


@dataclass
class TrainStep:
    """One optimizer step of :func:`fit`: the batch to the device, forward under autocast,
    the combined loss, backward (scaled under fp16), clipping, AdamW and the schedule, and
    the step's log entry. Nothing in it reads a value back from the device (the models'
    masked losses aside: ``psymtl.models``)."""

    model: nn.Module
    combiner: nn.Module
    optim: torch.optim.AdamW
    sched: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler | None
    precision: str
    device: torch.device
    s: Settings
    norm: dict[str, float]
    steplog: StepLog

    def __post_init__(self) -> None:
        self.params = list(self.model.parameters()) + list(self.combiner.parameters())

    def __call__(self, data: Split, idx: np.ndarray, step: int, epoch: int) -> None:
        b = data.batch(idx, self.device)
        with _autocast(self.device, self.precision):
            out = self.model(**b)
        losses = self.model.losses(out, b, self.s.distance, self.norm)
        loss = self.combiner(losses)
        self.optim.zero_grad()
        if self.scaler is None:
            loss.backward()
        else:
            self.scaler.scale(loss).backward()
        if self.s.grad_clip:
            if self.scaler is not None:
                self.scaler.unscale_(self.optim)  # clip the true gradients
            nn.utils.clip_grad_norm_(self.params, self.s.grad_clip)
        if self.scaler is None:
            self.optim.step()
        else:  # skips the step where a gradient overflowed
            self.scaler.step(self.optim)
            self.scaler.update()
        self.sched.step()
        self.steplog.add(step, epoch, loss, losses, self.combiner.weight_tensors())


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
    prec = precision(device, s)
    model.to(device)
    combiner.to(device)
    if s.gradient_checkpointing:
        enable_gradient_checkpointing(model)
    optim = adamw(_param_groups(model, combiner, s.weight_decay), lr=s.lr)
    groups = train.keys["dataset"].to_numpy()
    steps_per_epoch = len(batching.train_batches(train.lengths, groups, s.batch_size, s.seed, 0,
                                                 s.mixing))
    total = steps_per_epoch * s.epochs
    norm = loss_normalisers(train, tasks, steps_per_epoch)
    sched = lr_schedule(optim, s.schedule, math.ceil(s.warmup_ratio * total), total)
    scaler = torch.amp.GradScaler(device.type) if prec == "fp16" else None
    state = {"epoch": 0, "step": 0, "best": -math.inf, "best_epoch": -1, "bad": 0,
             "best_state": None, "best_pred": None, "log": [], "dev_scores": [], "seconds": 0.0,
             "tokens": 0, "examples": 0}
    run_key = {"settings": asdict(s), "identity": identity,
               "train_ids": train.keys["id"].tolist(),
               "params": {k: tuple(v.shape) for k, v in model.state_dict().items()}}
    if ckpt.exists():
        resumed = _resume(ckpt, run_key, model, combiner, optim, sched, scaler)
        if resumed is None:
            log.warning("%s belongs to a run with other settings, data or model; starting over",
                        ckpt)
        else:
            state = resumed
            log.info("resumed from %s at epoch %d", ckpt, state["epoch"])
    since_checkpoint = 0.0
    steplog = StepLog([key for key, _ in model.loss_terms()], s.log_every, device)
    step = TrainStep(model, combiner, optim, sched, scaler, prec, device, s, norm, steplog)

    while state["epoch"] < s.epochs and state["bad"] < s.patience:
        epoch = state["epoch"]
        model.train()
        t0 = time.perf_counter()
        batches = batching.train_batches(train.lengths, groups, s.batch_size, s.seed, epoch,
                                         s.mixing)
        bar = progress(batches, f"epoch {epoch + 1}/{s.epochs}", unit="batch")
        for idx in bar:
            state["step"] += 1
            step(train, idx, state["step"], epoch + 1)
            state["tokens"] += int(train.lengths[idx].sum())  # the batch's attention mask's
            state["examples"] += len(idx)
            if state["step"] % LOG_READ_EVERY == 0:
                bar.set_postfix(loss=f"{steplog.read():.3f}", refresh=False)
        steplog.read()  # waits for the epoch's last step: its time is in `elapsed`
        state["log"] += steplog.rows()
        elapsed = time.perf_counter() - t0
        state["seconds"] += elapsed
        since_checkpoint += elapsed
        pred = predict(model, tasks, dev, s.eval_batch_size, device, prec)
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
            _checkpoint(ckpt, run_key, state, model, combiner, optim, sched, scaler)
            since_checkpoint = 0.0

    if state["best_state"] is not None:
        model.load_state_dict(state["best_state"])
    summary = {k: state[k] for k in ("best", "best_epoch", "dev_scores", "seconds", "tokens",
                                     "examples")}
    summary |= {"epochs_run": state["epoch"], "steps": state["step"], **placement,
                "loss_normalisers": norm, "precision": prec, "bf16_autocast": prec == "bf16",
                "grad_scaler": scaler is not None,
                "gradient_checkpointing": s.gradient_checkpointing, "log_every": s.log_every,
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


def _checkpoint(path: Path, run_key: dict, state: dict, model, combiner, optim, sched,
                scaler) -> None:
    payload = {"run_key": run_key, "state": copy.copy(state), "model": model.state_dict(),
               "combiner": combiner.state_dict(), "optim": optim.state_dict(),
               "sched": sched.state_dict(),
               "scaler": scaler.state_dict() if scaler is not None else None,
               "torch_rng": torch.get_rng_state(),
               "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def _resume(path: Path, run_key: dict, model, combiner, optim, sched, scaler
            ) -> dict | None:
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
    if scaler is not None and payload.get("scaler") is not None:
        scaler.load_state_dict(payload["scaler"])
    torch.set_rng_state(payload["torch_rng"])
    if payload["cuda_rng"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(payload["cuda_rng"])
    return payload["state"]
