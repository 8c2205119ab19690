"""Model architectures over a shared pretrained encoder; ``build`` picks one by name."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from psymtl.tasks import Task


def pool(hidden: torch.Tensor, mask: torch.Tensor, how: str) -> torch.Tensor:
    """Sentence vector: the first ([CLS]) token or the mask-weighted mean of the tokens."""
    if how == "cls":
        return hidden[:, 0]
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1.0)


class Head(nn.Module):
    """Dropout -> dense -> GELU -> dropout -> output layer (the 'MLP' of BERT+MLP)."""

    def __init__(self, d_in: int, n_out: int, dropout: float, hidden: int | None = None):
        super().__init__()
        hidden = hidden or d_in
        self.net = nn.Sequential(nn.Dropout(dropout), nn.Linear(d_in, hidden), nn.GELU(),
                                 nn.Dropout(dropout), nn.Linear(hidden, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class MultiHead(nn.Module):
    """Hard parameter sharing: one encoder, one head per task (one task = single-task model)."""

    def __init__(self, encoder: nn.Module, tasks: Sequence[Task], pooling: str = "mean",
                 dropout: float = 0.1):
        super().__init__()
        self.encoder, self.pooling = encoder, pooling
        d = encoder.config.hidden_size
        self.heads = nn.ModuleDict({t.name: Head(d, t.n_out, dropout) for t in tasks})

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        return pool(out.last_hidden_state, attention_mask, self.pooling)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                **_: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.encode(input_ids, attention_mask)
        return {name: head(z) for name, head in self.heads.items()}


Builder = Callable[..., nn.Module]
ARCHITECTURES: dict[str, Builder] = {"multihead": MultiHead}


def build(name: str, encoder: nn.Module, tasks: Sequence[Task], **kw: object) -> nn.Module:
    if name not in ARCHITECTURES:
        raise KeyError(f"unknown model {name!r}; known: {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name](encoder, tasks, **kw)
