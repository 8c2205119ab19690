"""CPU dropout with numpy-drawn masks: dropout's distribution, seeded, resumable, its gradient."""

from __future__ import annotations

import io

import pytest
import torch

from psymtl import dropout


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_each_element_is_kept_with_probability_one_minus_p_independently(p):
    dropout.seed(3)
    keep = dropout.keep_mask(torch.Size([1000, 1001]), p).double()
    n, q = keep.numel(), 1 - p
    assert abs(float(keep.mean()) - q) < 5 * (q * p / n) ** 0.5
    x = keep.flatten() - q  # neighbours (the two halves of one 64-bit draw among them)
    lag1 = float((x[1:] * x[:-1]).mean()) / (q * p)
    assert abs(lag1) < 5 / n**0.5


def test_a_seed_gives_the_same_masks_and_a_saved_state_goes_on_with_the_same_draws():
    shape = torch.Size([16, 12, 33, 33])  # an odd number of elements
    dropout.seed(7)
    first = dropout.keep_mask(shape, 0.1)
    buf = io.BytesIO()
    torch.save(dropout.get_state(), buf)  # as a checkpoint saves it
    second = dropout.keep_mask(shape, 0.1)
    assert not torch.equal(first, second)
    dropout.seed(7)
    assert torch.equal(dropout.keep_mask(shape, 0.1), first)
    dropout.seed(99)
    buf.seek(0)
    dropout.set_state(torch.load(buf, weights_only=True))
    assert torch.equal(dropout.keep_mask(shape, 0.1), second)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
def test_a_mask_in_the_tensors_dtype_has_the_same_draws_and_products(dtype):
    """A mask made in the masked tensor's dtype is the boolean mask's draws as 0 and 1, and
    dropout's output and gradient are, bit for bit, the boolean mask's product scaled
    after it (a bf16 mask holding 1 / (1 - p) would round the scale: 1.109375, not 1.111)."""
    shape = torch.Size([4, 37, 29])
    dropout.seed(11)
    keep = dropout.keep_mask(shape, 0.1)
    dropout.seed(11)
    mask = dropout.keep_mask(shape, 0.1, dtype)
    assert mask.dtype == dtype and torch.equal(mask, keep.to(dtype))
    x = torch.randn(shape, dtype=torch.float64).to(dtype).requires_grad_()
    dropout.seed(11)
    y = dropout.dropout(x, 0.1, training=True)
    w = torch.randn(shape, dtype=torch.float64).to(dtype)
    y.backward(w)
    assert torch.equal(y, x.detach().mul(keep).mul_(1 / 0.9))
    assert torch.equal(x.grad, w.mul(keep).mul_(1 / 0.9))


def test_kept_elements_are_scaled_and_the_gradient_follows_the_mask():
    x = (torch.rand(8, 50, 40, dtype=torch.float64) + 0.5).requires_grad_()  # never 0
    dropout.seed(1)
    keep = dropout.keep_mask(x.shape, 0.25)
    dropout.seed(1)
    y = dropout.dropout(x, 0.25, training=True)
    torch.testing.assert_close(y, torch.where(keep, x / 0.75, 0.0), rtol=1e-15, atol=0)
    w = torch.randn_like(y)
    y.backward(w)
    torch.testing.assert_close(x.grad, torch.where(keep, w / 0.75, 0.0), rtol=1e-15, atol=0)


def test_softmax_dropout_is_dropout_of_the_softmax_with_its_gradient():
    x = torch.randn(3, 4, 30, 30, dtype=torch.float64, requires_grad=True)
    dropout.seed(2)
    probs, scale = dropout.softmax_dropout(x, 0.3, training=True)
    dropout.seed(2)
    keep = dropout.keep_mask(x.shape, 0.3)
    assert scale == 1 / 0.7
    ref_x = x.detach().clone().requires_grad_()
    ref = torch.where(keep, ref_x.softmax(-1) / 0.7, 0.0)
    torch.testing.assert_close(probs * scale, ref, rtol=1e-13, atol=0)
    w = torch.randn_like(ref)
    (probs * scale).backward(w)
    ref.backward(w)
    torch.testing.assert_close(x.grad, ref_x.grad, rtol=1e-10, atol=1e-14)
    assert dropout.softmax_dropout(x, 0.3, training=False)[1] == 1.0


def test_no_dropout_in_evaluation_or_at_p_zero():
    x = torch.randn(4, 5)
    assert dropout.dropout(x, 0.1, training=False) is x
    assert dropout.dropout(x, 0.0, training=True) is x
    module = dropout.Dropout(0.1).eval()
    assert module(x) is x
