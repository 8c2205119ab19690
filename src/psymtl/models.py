"""Model architectures over a pretrained encoder; ``build`` picks one by name.

Every model maps a batch to a dict of per-task outputs (logits, or log-probabilities for
models that mix distributions) and knows its own per-task losses. Keys starting with ``_``
are extra per-example outputs (e.g. attention weights) saved with the predictions.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from psymtl import losses as T
from psymtl.kinds import Distribution
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


POST_MODULES = ("final_norm", "norm", "ln_f", "final_layer_norm", "encoder.LayerNorm")
"""Modules an architecture may apply after its last layer (ModernBERT: ``final_norm``);
:class:`TaskLayers` finds which one, if any, by checking that it gives the encoder's output."""


def last_layer(encoder: nn.Module) -> nn.Module:
    """The encoder's last transformer layer: the last of its list of ``num_hidden_layers``
    same-type layers (``encoder.layer``, ``transformer.layer``, ``layers``, ...), else the
    last module of its innermost list (ALBERT's shared ``albert_layers``)."""
    n = getattr(encoder.config, "num_hidden_layers", None)
    lists = [m for m in encoder.modules() if isinstance(m, nn.ModuleList) and len(m)]
    for m in lists:
        if len(m) == n and len({type(x) for x in m}) == 1:
            return m[-1]
    if not lists:
        raise ValueError(f"{type(encoder).__name__}: no list of transformer layers found; "
                         "task-specific layers need one")
    return lists[-1][-1]


class _Capture:
    """The arguments the encoder passes its last layer and that layer's output, taken by
    hooks during one forward pass (a layer run several times, as ALBERT's shared layer is,
    leaves its last call)."""

    def __init__(self, layer: nn.Module):
        self.layer, self.args, self.kwargs, self.output = layer, (), {}, None

    def __enter__(self) -> _Capture:
        def pre(_m: nn.Module, args: tuple, kwargs: dict) -> None:
            self.args, self.kwargs = args, kwargs

        def post(_m: nn.Module, _args: tuple, output: Any) -> None:
            self.output = output[0] if isinstance(output, tuple) else output

        self.handles = [self.layer.register_forward_pre_hook(pre, with_kwargs=True),
                        self.layer.register_forward_hook(post)]
        return self

    def __exit__(self, *exc: object) -> None:
        for h in self.handles:
            h.remove()


def _batched(a: Any, b: Any, n_a: int, n_b: int) -> Any:
    """Which parts of a captured input hold one row per post: ``a`` and ``b`` the same
    input captured at batch sizes ``n_a`` and ``n_b``; True where a tensor's first dimension
    followed the batch, nested as the input is."""
    if torch.is_tensor(a) and torch.is_tensor(b):
        return a.dim() > 0 and a.shape[0] == n_a and b.shape[0] == n_b
    if isinstance(a, tuple | list) and isinstance(b, tuple | list) and len(a) == len(b):
        return tuple(_batched(x, y, n_a, n_b) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _batched(a[k], b.get(k), n_a, n_b) for k in a}
    return False


def _take(x: Any, batched: Any, rows: slice | torch.Tensor) -> Any:
    """``x`` (a captured input) for ``rows`` of the batch, where ``batched`` says it has
    one row per post."""
    if isinstance(rows, slice):
        return x
    if batched is True:
        return x[rows] if torch.is_tensor(x) else x
    if isinstance(x, tuple | list) and isinstance(batched, tuple):
        return type(x)(_take(v, f, rows) for v, f in zip(x, batched, strict=True))
    if isinstance(x, dict) and isinstance(batched, dict):
        return {k: _take(v, batched.get(k, False), rows) for k, v in x.items()}
    return x


class TaskLayers(nn.Module):
    """One task-specific copy of the encoder's last layer per task, each called exactly as
    the encoder calls its own last layer: with every input the encoder passes it (attention
    mask, relative position bias, rotary embeddings, relative embeddings, ...), taken by a
    hook during the shared forward pass, and the hidden states replaced by the shared
    encoder's. A module the architecture applies after its last layer (ModernBERT's final
    norm) is copied and applied too. Built for any architecture whose last layer takes its
    hidden states first and returns them first (checked when built: a probe forward pass
    on two small batches also finds which captured inputs hold one row per post, so a task's
    layer can run on some posts only)."""

    def __init__(self, encoder: nn.Module, names: Sequence[str]):
        super().__init__()
        kind = getattr(encoder.config, "model_type", type(encoder).__name__)
        self.layers = nn.ModuleDict({n: copy.deepcopy(last_layer(encoder)) for n in names})
        runs = [self._probe(encoder, n) for n in (2, 3)]
        (a, out_a, last_a), (b, _, _) = runs
        if not torch.is_tensor(out_a) or out_a.shape != last_a.shape:
            raise ValueError(f"{kind}: its last layer's hidden states are not one row per post "
                             "and token (an unpadded attention implementation?); task-specific "
                             "layers need padded ones: use attn_implementation sdpa or eager")
        self.batched = _batched(a, b, 2, 3)
        self.post: nn.Module | None = None
        if not torch.allclose(out_a, last_a, atol=1e-5):
            with torch.no_grad():
                post = next((m for m in (_submodule(encoder, p) for p in POST_MODULES)
                             if m is not None and torch.allclose(m(out_a), last_a, atol=1e-5)),
                            None)
            if post is None:
                raise ValueError(f"{kind}: the encoder's output is not its last layer's nor one "
                                 f"of {POST_MODULES} applied to it; task-specific layers are "
                                 "not built for this architecture")
            self.post = copy.deepcopy(post)

    @staticmethod
    @torch.no_grad()
    def _probe(encoder: nn.Module, n: int) -> tuple[Any, torch.Tensor, torch.Tensor]:
        """The last layer's inputs and output and the encoder's output, on ``n`` posts of
        six tokens (the first with two padding positions), in eval mode."""
        was = encoder.training
        encoder.eval()
        device = next(encoder.parameters()).device
        ids = torch.full((n, 6), min(5, encoder.config.vocab_size - 1), device=device)
        mask = torch.ones_like(ids)
        mask[0, 4:] = 0
        try:
            with _Capture(last_layer(encoder)) as cap:
                last = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        finally:
            encoder.train(was)
        return (cap.args, cap.kwargs), cap.output, last

    def capture(self, encoder: nn.Module) -> _Capture:
        """The context in which the shared forward pass records the last layer's call."""
        return _Capture(last_layer(encoder))

    def forward(self, name: str, cap: _Capture, rows: slice | torch.Tensor) -> torch.Tensor:
        """Task ``name``'s layer on the shared encoder's last-layer output, for ``rows``."""
        args, kwargs = _take((cap.args, cap.kwargs), self.batched, rows)
        hidden = _take(cap.output, True, rows)
        if args:
            args = (hidden, *args[1:])
        else:
            kwargs = {**kwargs, "hidden_states": hidden}
        out = self.layers[name](*args, **kwargs)
        out = out[0] if isinstance(out, tuple) else out
        return self.post(out) if self.post is not None else out


def _submodule(module: nn.Module, path: str) -> nn.Module | None:
    try:
        return module.get_submodule(path)
    except AttributeError:
        return None


class DoubleEncoder(TaskModel):
    """Ilias & Askounis' Double Encoders, and the Attention Fusion Network (``fusion``).

    A shared encoder updated by every task feeds one extra transformer layer per task
    (:class:`TaskLayers`: a copy of the shared encoder's last layer, called with the inputs
    the encoder gives its own, updated only by its task's loss since only that task's head
    reads it). ``fusion``:
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
        self.task_layers = TaskLayers(encoder, [t.name for t in tasks])
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
        with self.task_layers.capture(self.encoder) as cap:
            shared = self.hidden(input_ids, attention_mask)
        h_s = pool(shared, attention_mask, self.pooling)
        out: dict[str, torch.Tensor] = {}
        for name in self.task_layers.layers:
            rows = batch.get(f"m_{name}") if self.training else None
            if rows is not None and not rows.any():
                continue
            sel = slice(None) if rows is None or rows.all() else rows
            h_t = pool(self.task_layers(name, cap, sel), attention_mask[sel], self.pooling)
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
        self.g1 = nn.Sequential(nn.Dropout(self.dropout), nn.Linear(d, d), nn.GELU())
        self.g2 = nn.Sequential(nn.Dropout(self.dropout), nn.Linear(2 * d, d), nn.GELU())
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
