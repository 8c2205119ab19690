"""Dropout whose masks on the CPU come from numpy's PCG64 generator.

PyTorch draws a CPU dropout mask one element at a time on one thread (``bernoulli_``, about
4.5 ns an element on the AMD EPYC here: 14 ms for one layer's attention probabilities at
16 posts x 128 tokens, more than that layer's query projection), a tenth of a training step.
PCG64 gives 64 random bits in about 1.7 ns, four 16-bit keys: a mask of 16 x 12 x 128 x 128
takes 2.0 ms (7x less than ``bernoulli_``). A mask is made in the dtype of the tensor it
multiplies (a boolean one would be converted to floats at each product: in the forward and
again in the backward pass). Attention's dropout comes with its softmax
(:func:`softmax_dropout`) and keeps no mask at all.

The distribution is dropout's: each element is kept independently with probability
``round((1 - p) * 2**16) / 2**16`` (within 2**-17 of ``1 - p``: 0.8999939 for p = 0.1) and
scaled by ``1 / (1 - p)``.
The generator is no global state: a :class:`MaskGenerator`, seeded where it is made, is
passed to every dropout that draws from it (the hand-written encoder makes one, seeded with
the run's seed, and keeps its state in its ``state_dict``, so a checkpoint saves it and a
resumed run goes on with the draws it would have made). On a GPU, torch's own dropout.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

_WORD = 2**64


class MaskGenerator:
    """numpy's PCG64 generator of dropout masks. A deep copy of a module keeps drawing from
    the same generator (the copies of an encoder's layer that :class:`psymtl.models
    .TaskLayers` makes share their encoder's, whose state is the one saved)."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.Generator(np.random.PCG64(seed))

    def __deepcopy__(self, memo: dict) -> MaskGenerator:
        return self

    def state(self) -> torch.Tensor:
        """The generator's state as six int64 values (a ``state_dict`` entry)."""
        s = self.rng.bit_generator.state
        words = [w for v in (s["state"]["state"], s["state"]["inc"])
                 for w in (v % _WORD, v // _WORD)]
        return torch.tensor([w - _WORD if w >= 2**63 else w for w in words]
                            + [s["has_uint32"], s["uinteger"]], dtype=torch.int64)

    def set_state(self, t: torch.Tensor) -> None:
        w = [int(v) % _WORD for v in t.tolist()]
        self.rng.bit_generator.state = {
            "bit_generator": "PCG64", "state": {"state": w[0] + w[1] * _WORD,
                                                "inc": w[2] + w[3] * _WORD},
            "has_uint32": w[4], "uinteger": w[5]}

    def keep_mask(self, shape: torch.Size, p: float, dtype: torch.dtype = torch.bool
                  ) -> torch.Tensor:
        """A mask of ``shape``, each element 1 (True) with probability ``1 - p`` (to
        2**-16), else 0, of ``dtype``: a mask of the masked tensor's dtype multiplies it
        without the pass that converts a boolean mask first, and is made as fast (the
        comparison writes it)."""
        n, kept = math.prod(shape), round((1 - p) * 2**16)  # kept keys of the 2**16
        if kept >= 2**16:
            return torch.ones(shape, dtype=dtype)
        keys = self.rng.bit_generator.random_raw((n + 3) // 4).view(np.int16)[:n]
        return torch.lt(torch.from_numpy(keys).view(shape), kept - 2**15,
                        out=torch.empty(shape, dtype=dtype))


class _CPUDropout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, p: float, masks: MaskGenerator) -> torch.Tensor:
        keep = masks.keep_mask(x.shape, p, x.dtype)  # 0 / 1: scaled apart, rounded as x * scale
        ctx.save_for_backward(keep)
        ctx.scale = 1 / (1 - p)
        return x.mul(keep).mul_(ctx.scale)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (keep,) = ctx.saved_tensors
        return grad.mul(keep).mul_(ctx.scale), None, None


class _SoftmaxZeroed(torch.autograd.Function):
    """softmax(x) with dropout's zeros, not yet scaled. It keeps the probabilities P and its
    output O = P * keep (which the product that follows keeps anyway), not the mask: with
    G the output's gradient, softmax's gradient P * (dP - sum(P * dP)) needs only
    P * dP = O * G, so the backward pass is two passes over the scores instead of the
    mask's product and softmax's own."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, p: float, masks: MaskGenerator) -> torch.Tensor:
        probs = x.softmax(-1)
        out = probs.mul(masks.keep_mask(probs.shape, p, probs.dtype))
        ctx.save_for_backward(probs, out)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        probs, out = ctx.saved_tensors
        t = out * grad  # P * dP
        return t.addcmul_(probs, t.sum(-1, keepdim=True), value=-1), None, None


def softmax_dropout(x: torch.Tensor, p: float, training: bool, masks: MaskGenerator
                    ) -> tuple[torch.Tensor, float]:
    """``dropout(x.softmax(-1))`` as the probabilities with dropout's zeros and the factor
    ``1 / (1 - p)`` still to apply: attention applies it to the values, a pass over a
    head-sized tensor rather than over the scores."""
    if not training or p == 0:
        return x.softmax(-1), 1.0
    if x.device.type != "cpu" or p == 1:
        return F.dropout(x.softmax(-1), p, True), 1.0
    return _SoftmaxZeroed.apply(x, p, masks), 1 / (1 - p)


def dropout(x: torch.Tensor, p: float, training: bool, masks: MaskGenerator) -> torch.Tensor:
    if not training or p == 0:
        return x
    if x.device.type != "cpu" or p == 1:
        return F.dropout(x, p, True)
    return _CPUDropout.apply(x, p, masks)


class Dropout(nn.Dropout):
    """``nn.Dropout`` with the masks of ``masks`` on the CPU."""

    def __init__(self, p: float, masks: MaskGenerator):
        super().__init__(p)
        self.masks = masks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training, self.masks)
