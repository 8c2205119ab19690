"""How per-example losses become a task's loss term, and the distances between distributions
(the per-example loss of each task kind lives with the kind, ``psymtl.kinds``)."""

from __future__ import annotations

import torch

EPS = 1e-8


def term(per_example: torch.Tensor, norm: float) -> torch.Tensor:
    """A task's loss term for one batch: the sum of its per-example losses over ``norm``, the
    mean number of examples of the task's dataset per step (``trainer.loss_normalisers``).
    Every example then weighs ``1 / norm`` whatever batch it lands in (a per-batch mean would
    weigh an example by one over the number of its task's examples in that batch), and the
    term's expected value per step is the task's mean loss over its dataset."""
    return per_example.sum() / norm


def distribution_loss(log_q: torch.Tensor, p: torch.Tensor, distance: str) -> torch.Tensor:
    """Distance between target distributions ``p`` and predictions ``exp(log_q)`` per row."""
    if distance == "kl":
        return (p * (torch.log(p.clamp_min(EPS)) - log_q)).sum(-1)
    if distance == "ce":
        return -(p * log_q).sum(-1)
    if distance == "hellinger":
        diff = torch.sqrt(p.clamp_min(0)) - torch.exp(0.5 * log_q)
        return torch.sqrt(0.5 * (diff**2).sum(-1) + EPS)
    raise ValueError(f"unknown distribution distance {distance!r}")
