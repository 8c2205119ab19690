"""How per-task losses are combined into one training loss.

- ``fixed``: L = sum_t w_t L_t with constant weights (default 1; e.g. L_main + beta L_aux).
- ``kendall``: homoscedastic uncertainty weighting (Kendall, Gal & Cipolla 2018) with one
  learned log-variance s_t = log sigma_t^2 per task: regression tasks contribute
  0.5 exp(-s_t) L_t + 0.5 s_t (from 1/(2 sigma^2) L + log sigma), classification and
  distribution tasks exp(-s_t) L_t + 0.5 s_t (from 1/sigma^2 L + log sigma); s_t starts at 0.
- ``hierarchical``: the HDLN loss sum_c Gamma_G[c] L_G,c and sum_c Gamma_L[c] L_L,c,
  combined as Lambda[0] L_G + Lambda[1] L_L. Fixed: uniform weights (the original HDLN).
  ``learn: true``: each of Gamma_G, Gamma_L, Lambda is a softmax of free parameters, which
  keeps it non-negative with L1 norm 1 (the constraints of the FIG-Loneliness paper).
Every combiner reports its current effective weights: ``weight_tensors`` as tensors on the
combiner's device (for the per-step log, read in one transfer with the losses: no read per
step), ``weights`` as numbers (which reads them from the device). Learned weights
take their own learning rate (``lr``, default :data:`LEARNED_LR`): at the encoder's rate
(1e-4 .. 2e-5) AdamW moves a log-variance by at most that much per step, so over a whole run
the weights stay within about 2% of their start and nothing is learned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from psymtl.tasks import Task

Losses = Mapping[str, torch.Tensor]
LEARNED_LR = 1e-2


class FixedWeights(nn.Module):
    def __init__(self, tasks: Sequence[Task], weights: Mapping[str, float] | None = None):
        super().__init__()
        unknown = set(weights or {}) - {t.name for t in tasks}
        if unknown:
            raise ValueError(f"weighting.weights names unknown task(s) {sorted(unknown)}")
        self.w = {t.name: float((weights or {}).get(t.name, 1.0)) for t in tasks}
        self.register_buffer("values", torch.tensor(list(self.w.values())), persistent=False)

    def forward(self, losses: Losses) -> torch.Tensor:
        return sum(self.w[k] * v for k, v in losses.items())

    def weight_tensors(self) -> dict[str, torch.Tensor]:
        return {n: self.values[i] for i, n in enumerate(self.w)}

    def weights(self) -> dict[str, float]:
        return _numbers(self.weight_tensors())


class KendallWeights(nn.Module):
    def __init__(self, tasks: Sequence[Task], lr: float = LEARNED_LR):
        super().__init__()
        self.lr = lr
        self.names = [t.name for t in tasks]
        self.factor = {t.name: t.kind.kendall_factor for t in tasks}
        self.log_var = nn.Parameter(torch.zeros(len(tasks)))
        self.register_buffer("factors", torch.tensor([self.factor[n] for n in self.names]),
                             persistent=False)

    def forward(self, losses: Losses) -> torch.Tensor:
        total = 0.0
        for i, name in enumerate(self.names):
            if name in losses:
                s = self.log_var[i]
                total = total + self.factor[name] * torch.exp(-s) * losses[name] + 0.5 * s
        return total

    def weight_tensors(self) -> dict[str, torch.Tensor]:
        w = self.factors * torch.exp(-self.log_var.detach().float())
        return {n: w[i] for i, n in enumerate(self.names)}

    def weights(self) -> dict[str, float]:
        return _numbers(self.weight_tensors())


class HierarchicalWeights(nn.Module):
    def __init__(self, tasks: Sequence[Task], learn: bool = False, lr: float = LEARNED_LR):
        super().__init__()
        self.lr = lr
        self.names = [t.name for t in tasks]
        shape = {"gamma_g": len(tasks), "gamma_l": len(tasks), "lambda": 2}
        self.theta = nn.ParameterDict({k: nn.Parameter(torch.zeros(n), requires_grad=learn)
                                       for k, n in shape.items()})

    def _w(self) -> dict[str, torch.Tensor]:
        return {k: torch.softmax(v, 0) for k, v in self.theta.items()}

    def forward(self, losses: Losses) -> torch.Tensor:
        w = self._w()
        parts = []
        for part, gamma in (("G", w["gamma_g"]), ("L", w["gamma_l"])):
            parts.append(sum(gamma[i] * losses[f"{part}/{n}"] for i, n in enumerate(self.names)
                             if f"{part}/{n}" in losses))
        return w["lambda"][0] * parts[0] + w["lambda"][1] * parts[1]

    def weight_tensors(self) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            w = {k: v.float() for k, v in self._w().items()}
        out = {f"gamma_g/{n}": w["gamma_g"][i] for i, n in enumerate(self.names)}
        out |= {f"gamma_l/{n}": w["gamma_l"][i] for i, n in enumerate(self.names)}
        return out | {"lambda/global": w["lambda"][0], "lambda/local": w["lambda"][1]}

    def weights(self) -> dict[str, float]:
        return _numbers(self.weight_tensors())


def _numbers(tensors: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """The weights as numbers, read from the device in one transfer."""
    values = torch.stack(list(tensors.values())).cpu().tolist() if tensors else []
    return dict(zip(tensors, values, strict=True))


COMBINERS: dict[str, type[nn.Module]] = {
    "fixed": FixedWeights, "kendall": KendallWeights, "hierarchical": HierarchicalWeights,
}


def build(spec: Mapping[str, object], tasks: Sequence[Task]) -> nn.Module:
    kind = str(spec.get("kind", "fixed"))
    if kind not in COMBINERS:
        raise KeyError(f"unknown weighting {kind!r}; known: {sorted(COMBINERS)}")
    return COMBINERS[kind](tasks, **{k: v for k, v in spec.items() if k != "kind"})
