"""How per-task losses are combined into one training loss."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from psymtl.tasks import Task


class FixedWeights(nn.Module):
    """L = sum_t w_t L_t with constant weights (e.g. L_main + beta * L_aux); default 1."""

    def __init__(self, tasks: Sequence[Task], weights: Mapping[str, float] | None = None):
        super().__init__()
        self.w = {t.name: float((weights or {}).get(t.name, 1.0)) for t in tasks}

    def forward(self, losses: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return sum(self.w[k] * v for k, v in losses.items())

    def weights(self) -> dict[str, float]:
        return dict(self.w)


COMBINERS: dict[str, type[nn.Module]] = {"fixed": FixedWeights}


def build(spec: Mapping[str, object], tasks: Sequence[Task]) -> nn.Module:
    kind = str(spec.get("kind", "fixed"))
    kw = {k: v for k, v in spec.items() if k != "kind"}
    return COMBINERS[kind](tasks, **kw)
