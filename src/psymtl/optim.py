"""The optimizer and learning-rate schedules of training and masked-LM adaptation: torch's
AdamW (its fused kernel where the parameters' device has one) and ``transformers``'
warm-up schedules, one place that picks them for both."""

from __future__ import annotations

from collections.abc import Iterable

import torch

SCHEDULES = ("linear", "cosine")


def adamw(groups: Iterable[dict], lr: float, weight_decay: float = 0.01) -> torch.optim.AdamW:
    """``torch.optim.AdamW`` over parameter groups (a group may set its own ``lr`` and
    ``weight_decay``), fused on CPU and CUDA parameters."""
    groups = [{**g, "params": list(g["params"])} for g in groups]
    devices = {p.device.type for g in groups for p in g["params"]}
    fused = bool(devices) and devices <= {"cpu", "cuda"}
    return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay,
                             fused=fused or None)


def lr_schedule(optim: torch.optim.Optimizer, kind: str, warmup: int, total: int
                ) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``warmup`` steps, then linear or (half-)cosine decay to 0 at
    ``total``: ``transformers.get_{linear,cosine}_schedule_with_warmup``."""
    from transformers import get_cosine_schedule_with_warmup, get_linear_schedule_with_warmup

    if kind not in SCHEDULES:
        raise ValueError(f"unknown schedule {kind!r}; choose one of {list(SCHEDULES)}")
    make = get_linear_schedule_with_warmup if kind == "linear" else \
        get_cosine_schedule_with_warmup
    return make(optim, warmup, total)
