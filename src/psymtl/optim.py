"""AdamW and the learning-rate schedules of training and masked-LM adaptation.

``AdamW`` runs torch's fused AdamW kernel, the update ``torch.optim.AdamW(fused=True)`` makes
(tested equal), without ``torch.optim``: its base class imports ``torch._dynamo`` when an
optimizer is built, about 0.9 s of start-up in each of a run's training processes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch


class AdamW:
    """AdamW (decoupled weight decay) over parameter groups; a group may set its own ``lr``
    and ``weight_decay``. ``state_dict`` / ``load_state_dict`` resume it exactly."""

    def __init__(self, groups: Iterable[dict], lr: float, weight_decay: float = 0.01,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.param_groups = [{"lr": lr, "weight_decay": weight_decay, **g,
                              "params": list(g["params"])} for g in groups]
        for g in self.param_groups:
            g["initial_lr"] = g["lr"]
        self.betas, self.eps = betas, eps
        self.state: dict[torch.Tensor, dict[str, torch.Tensor]] = {}

    def _params(self) -> list[torch.Tensor]:
        return [p for g in self.param_groups for p in g["params"]]

    def zero_grad(self) -> None:
        for p in self._params():
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for g in self.param_groups:
            by_kind: dict[tuple, list[torch.Tensor]] = {}  # one kernel call per device and dtype
            for p in g["params"]:
                if p.grad is not None:
                    by_kind.setdefault((p.device, p.dtype), []).append(p)
            for params in by_kind.values():
                states = [self._state(p) for p in params]
                steps = [s["step"] for s in states]
                torch._foreach_add_(steps, 1)
                torch._fused_adamw_(params, [p.grad for p in params],
                                    [s["exp_avg"] for s in states],
                                    [s["exp_avg_sq"] for s in states], [], steps,
                                    lr=g["lr"], beta1=self.betas[0], beta2=self.betas[1],
                                    weight_decay=g["weight_decay"], eps=self.eps,
                                    amsgrad=False, maximize=False)

    def _state(self, p: torch.Tensor) -> dict[str, torch.Tensor]:
        if p not in self.state:
            self.state[p] = {"step": torch.zeros((), dtype=torch.float32, device=p.device),
                             "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                             "exp_avg_sq": torch.zeros_like(p,
                                                            memory_format=torch.preserve_format)}
        return self.state[p]

    def state_dict(self) -> dict:
        index = {p: i for i, p in enumerate(self._params())}
        return {"state": {index[p]: dict(s) for p, s in self.state.items()},
                "param_groups": [{k: v for k, v in g.items() if k != "params"}
                                 for g in self.param_groups]}

    def load_state_dict(self, sd: dict) -> None:
        params = self._params()
        if len(sd["param_groups"]) != len(self.param_groups):
            raise ValueError("the saved optimizer state has other parameter groups")
        for g, saved in zip(self.param_groups, sd["param_groups"], strict=True):
            g.update(saved)
        self.state = {params[i]: {k: v.to(params[i].device) for k, v in s.items()}
                      for i, s in sd["state"].items()}


class Schedule:
    """Sets every group's ``lr`` to its initial ``lr`` times ``factor(step)``, step 0 at
    construction and one more after each optimizer step (``torch``'s ``LambdaLR``)."""

    def __init__(self, optim: AdamW, factor: Callable[[int], float]):
        self.optim, self.factor, self.last = optim, factor, 0
        self._apply()

    def step(self) -> None:
        self.last += 1
        self._apply()

    def _apply(self) -> None:
        for g in self.optim.param_groups:
            g["lr"] = g["initial_lr"] * self.factor(self.last)

    def state_dict(self) -> dict:
        return {"step": self.last}

    def load_state_dict(self, sd: dict) -> None:
        self.last = sd["step"]
        self._apply()


def lr_schedule(optim: AdamW, kind: str, warmup: int, total: int) -> Schedule:
    """Linear warm-up over ``warmup`` steps, then linear or (half-)cosine decay to 0 at
    ``total``: the schedules of ``transformers.get_{linear,cosine}_schedule_with_warmup``."""
    if kind not in ("linear", "cosine"):
        raise ValueError(f"unknown schedule {kind!r}")

    def factor(step: int) -> float:
        if step < warmup:
            return step / max(1, warmup)
        if kind == "linear":
            return max(0.0, (total - step) / max(1, total - warmup))
        done = (step - warmup) / max(1, total - warmup)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * done)))

    return Schedule(optim, factor)
