"""Model architectures over a pretrained encoder; ``build`` picks one by name.

Every model maps a batch to a dict of per-task outputs (logits, or log-probabilities for
models that mix distributions) and knows its own per-task losses. Keys starting with ``_``
are extra per-example outputs (e.g. attention weights) saved with the predictions.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

from psymtl import losses as T
from psymtl.dropout import Dropout
from psymtl.kinds import Distribution
from psymtl.tasks import Task
from psymtl.transformer import additive_mask


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
        self.net = nn.Sequential(Dropout(dropout), nn.Linear(d_in, hidden), nn.GELU(),
                                 Dropout(dropout), nn.Linear(hidden, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TaskModel(nn.Module):
    """Base: an encoder, the tasks, pooling; per-task masked losses."""

    def __init__(self, encoder: nn.Module, tasks: Sequence[Task], pooling: str = "mean",
                 dropout: float = 0.1):
        super().__init__()
        self.encoder, self.tasks = encoder, list(tasks)
        self.pooling, self.dropout = pooling, dropout
        self.d = encoder.config.hidden_size

    def hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def loss_terms(self) -> list[tuple[str, Task]]:
        """(output key, task) of each loss term; the key also names the term."""
        return [(t.name, t) for t in self.tasks]

    def losses(self, out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor],
               distance: str, norm: dict[str, float]) -> dict[str, torch.Tensor]:
        """Each term's loss (``losses.term``: sum over the examples with a target, over the
        task's ``norm``), for the terms whose task has targets in this batch."""
        res = {}
        for key, t in self.loss_terms():
            m = batch[f"m_{t.name}"]
            if m.any():
                res[key] = T.term(t.kind.loss(out[key][m], batch[f"y_{t.name}"][m], distance),
                                  norm[t.name])
        return res


class MultiHead(TaskModel):
    """Hard parameter sharing: one encoder, one head per task (one task = single-task model)."""

    def __init__(self, encoder: nn.Module, tasks: Sequence[Task], **kw):
        super().__init__(encoder, tasks, **kw)
        self.heads = nn.ModuleDict({t.name: Head(self.d, t.n_out, self.dropout) for t in tasks})

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                **_: torch.Tensor) -> dict[str, torch.Tensor]:
        z = pool(self.hidden(input_ids, attention_mask), attention_mask, self.pooling)
        return {name: head(z) for name, head in self.heads.items()}


def _extra_layer(encoder: nn.Module) -> nn.Module:
    """A copy of the encoder's last transformer layer (BERT: ``encoder.layer[-1]``)."""
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    if layers is None:
        raise ValueError(f"{type(encoder).__name__}: task-specific layers need a BERT-style "
                         "encoder with encoder.layer")
    return copy.deepcopy(layers[-1])


class DoubleEncoder(TaskModel):
    """Ilias & Askounis' Double Encoders, and the Attention Fusion Network (``fusion``).

    A shared encoder updated by every task feeds one extra transformer layer per task
    (initialised from the shared encoder's last layer, updated only by its task's loss since
    only that task's head reads it). ``fusion``:
      - ``none``: the head reads the task-specific representation (Double Encoders);
      - ``attention``: alpha = softmax(w . tanh(W [h_shared; h_task])) weighs shared and
        task-specific vectors, h = alpha_shared h_shared + alpha_task h_task (Attention Fusion);
        the per-post weights are returned as ``_alpha_shared_<task>``;
      - ``concat``: the head reads [h_shared; h_task] (the ablation without attention).
    """

    def __init__(self, encoder: nn.Module, tasks: Sequence[Task], fusion: str = "none", **kw):
        super().__init__(encoder, tasks, **kw)
        if fusion not in ("none", "attention", "concat"):
            raise ValueError(f"unknown fusion {fusion!r}")
        self.fusion = fusion
        self.task_layers = nn.ModuleDict({t.name: _extra_layer(encoder) for t in tasks})
        d_head = 2 * self.d if fusion == "concat" else self.d
        self.heads = nn.ModuleDict({t.name: Head(d_head, t.n_out, self.dropout) for t in tasks})
        if fusion == "attention":
            self.attn = nn.ModuleDict({t.name: nn.Sequential(
                nn.Linear(2 * self.d, self.d), nn.Tanh(), nn.Linear(self.d, 2)) for t in tasks})

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                **batch: torch.Tensor) -> dict[str, torch.Tensor]:
        """In training, a task's layer and head run only on the posts with that task's target
        (``m_<task>`` in the batch): the others are masked out of its loss anyway, so the
        gradients are the same at less compute. Outputs of other posts are left at 0."""
        shared = self.hidden(input_ids, attention_mask)
        ext = additive_mask(attention_mask, shared.dtype)
        h_s = pool(shared, attention_mask, self.pooling)
        out: dict[str, torch.Tensor] = {}
        for name, layer in self.task_layers.items():
            rows = batch.get(f"m_{name}") if self.training else None
            if rows is not None and not rows.any():
                continue
            sel = slice(None) if rows is None or rows.all() else rows
            h_t = pool(_run_layer(layer, shared[sel], ext[sel]), attention_mask[sel],
                       self.pooling)
            if self.fusion == "attention":
                alpha = torch.softmax(self.attn[name](torch.cat([h_s[sel], h_t], -1)).float(),
                                      -1)
                z = alpha[:, :1].to(h_t.dtype) * h_s[sel] + alpha[:, 1:].to(h_t.dtype) * h_t
                out[f"_alpha_shared_{name}"] = _full(alpha[:, 0], sel, len(h_s))
            elif self.fusion == "concat":
                z = torch.cat([h_s[sel], h_t], -1)
            else:
                z = h_t
            out[name] = _full(self.heads[name](z), sel, len(h_s))
        return out


def _full(x: torch.Tensor, rows: slice | torch.Tensor, n: int) -> torch.Tensor:
    """``x`` computed for ``rows`` of a batch of ``n``, as a full-batch tensor (0 elsewhere)."""
    if isinstance(rows, slice):
        return x
    full = x.new_zeros((n, *x.shape[1:]))
    full[rows] = x
    return full


def _run_layer(layer: nn.Module, hidden: torch.Tensor, ext_mask: torch.Tensor) -> torch.Tensor:
    out = layer(hidden, attention_mask=ext_mask)
    return out[0] if isinstance(out, tuple) else out


class HDLN(TaskModel):
    """Hierarchical distributional learning network (FIG-Loneliness; after HMCN).

    The first task is the root (lonely / not); the others are its fine-grained children.
    Global flow: g1 = f(W1 h), g2 = f(W2 [g1; h]); one global classifier on g2 predicts the
    concatenation of all distributions (softmax within each). Local classifiers follow the
    hierarchy: the root's local classifier reads g1; each child's local classifier reads
    [g2; P_L(root)], i.e. it is conditioned on the loneliness prediction.
    Final P_F = beta * P_L + (1 - beta) * P_G. Outputs are log P_F per task (plus the global
    and local log-probabilities under ``G/<task>`` and ``L/<task>`` for the losses).
    """

    def __init__(self, encoder: nn.Module, tasks: Sequence[Task], beta: float = 0.5, **kw):
        super().__init__(encoder, tasks, **kw)
        if not all(isinstance(t.kind, Distribution) for t in tasks):
            raise ValueError("HDLN predicts distributions only")
        self.beta, d = beta, self.d
        self.sizes = [t.n_out for t in tasks]
        self.g1 = nn.Sequential(Dropout(self.dropout), nn.Linear(d, d), nn.GELU())
        self.g2 = nn.Sequential(Dropout(self.dropout), nn.Linear(2 * d, d), nn.GELU())
        self.global_out = nn.Linear(d, sum(self.sizes))
        root, *children = tasks
        self.local = nn.ModuleDict({root.name: Head(d, root.n_out, self.dropout)})
        self.local.update({t.name: Head(d + root.n_out, t.n_out, self.dropout) for t in children})

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                **_: torch.Tensor) -> dict[str, torch.Tensor]:
        h = pool(self.hidden(input_ids, attention_mask), attention_mask, self.pooling)
        g1 = self.g1(h)
        g2 = self.g2(torch.cat([g1, h], -1))
        glob = torch.split(self.global_out(g2).float(), self.sizes, dim=-1)
        root, *children = self.tasks
        local = {root.name: torch.log_softmax(self.local[root.name](g1).float(), -1)}
        cond = torch.cat([g2.float(), local[root.name].exp()], -1).to(g2.dtype)
        for t in children:
            local[t.name] = torch.log_softmax(self.local[t.name](cond).float(), -1)
        out: dict[str, torch.Tensor] = {}
        for t, g in zip(self.tasks, glob, strict=True):
            log_g = torch.log_softmax(g, -1)
            mix = self.beta * local[t.name].exp() + (1 - self.beta) * log_g.exp()
            out[t.name] = torch.log(mix.clamp_min(1e-12))
            out[f"G/{t.name}"], out[f"L/{t.name}"] = log_g, local[t.name]
        return out

    def loss_terms(self) -> list[tuple[str, Task]]:
        """The global and the local prediction of every task is trained (log-probabilities:
        the log-softmax inside the loss leaves them unchanged)."""
        return [(f"{part}/{t.name}", t) for t in self.tasks for part in ("G", "L")]


ARCHITECTURES: dict[str, type[TaskModel]] = {
    "multihead": MultiHead, "double_encoder": DoubleEncoder, "hdln": HDLN,
}


def build(name: str, encoder: nn.Module, tasks: Sequence[Task], **kw: object) -> TaskModel:
    if name not in ARCHITECTURES:
        raise KeyError(f"unknown model {name!r}; known: {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name](encoder, tasks, **kw)
