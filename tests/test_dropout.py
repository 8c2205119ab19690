"""CPU dropout with numpy-drawn masks from an explicit generator: dropout's distribution,
seeded, resumable, its gradient."""

from __future__ import annotations

import io

import pytest
import torch

from psymtl import dropout


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_each_element_is_kept_with_probability_one_minus_p_independently(p):
    keep = dropout.MaskGenerator(3).keep_mask(torch.Size([1000, 1001]), p).double()
    n, q = keep.numel(), 1 - p
    assert abs(float(keep.mean()) - q) < 5 * (q * p / n) ** 0.5
    x = keep.flatten() - q  # neighbours (the two halves of one 64-bit draw among them)
    lag1 = float((x[1:] * x[:-1]).mean()) / (q * p)
    assert abs(lag1) < 5 / n**0.5


def test_a_seed_gives_the_same_masks_and_a_saved_state_goes_on_with_the_same_draws():
    shape = torch.Size([16, 12, 33, 33])  # an odd number of elements
    g = dropout.MaskGenerator(7)
    first = g.keep_mask(shape, 0.1)
    buf = io.BytesIO()
    torch.save(g.state(), buf)  # as a checkpoint saves it (a state_dict entry)
    second = g.keep_mask(shape, 0.1)
    assert not torch.equal(first, second)
    assert torch.equal(dropout.MaskGenerator(7).keep_mask(shape, 0.1), first)
    other = dropout.MaskGenerator(99)
    buf.seek(0)
    other.set_state(torch.load(buf, weights_only=True))
    assert torch.equal(other.keep_mask(shape, 0.1), second)


def test_generators_are_independent_and_shared_by_deep_copies():
    """No global state: two generators of one seed draw alike, whatever the other draws; a
    deep copy of a module draws from its original's generator."""
    import copy

    a, b = dropout.MaskGenerator(5), dropout.MaskGenerator(5)
    a.keep_mask(torch.Size([100]), 0.1)
    dropout.MaskGenerator(6).keep_mask(torch.Size([100]), 0.1)
    b.keep_mask(torch.Size([100]), 0.1)
    assert torch.equal(a.state(), b.state())
    module = dropout.Dropout(0.1, a)
    assert copy.deepcopy(module).masks is a


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
def test_a_mask_in_the_tensors_dtype_has_the_same_draws_and_products(dtype):
    """A mask made in the masked tensor's dtype is the boolean mask's draws as 0 and 1, and
    dropout's output and gradient are, bit for bit, the boolean mask's product scaled
    after it (a bf16 mask holding 1 / (1 - p) would round the scale: 1.109375, not 1.111)."""
    shape = torch.Size([4, 37, 29])
    keep = dropout.MaskGenerator(11).keep_mask(shape, 0.1)
    mask = dropout.MaskGenerator(11).keep_mask(shape, 0.1, dtype)
    assert mask.dtype == dtype and torch.equal(mask, keep.to(dtype))
    x = torch.randn(shape, dtype=torch.float64).to(dtype).requires_grad_()
    y = dropout.dropout(x, 0.1, True, dropout.MaskGenerator(11))
    w = torch.randn(shape, dtype=torch.float64).to(dtype)
    y.backward(w)
    assert torch.equal(y, x.detach().mul(keep).mul_(1 / 0.9))
    assert torch.equal(x.grad, w.mul(keep).mul_(1 / 0.9))


def test_kept_elements_are_scaled_and_the_gradient_follows_the_mask():
    x = (torch.rand(8, 50, 40, dtype=torch.float64) + 0.5).requires_grad_()  # never 0
    keep = dropout.MaskGenerator(1).keep_mask(x.shape, 0.25)
    y = dropout.dropout(x, 0.25, True, dropout.MaskGenerator(1))
    torch.testing.assert_close(y, torch.where(keep, x / 0.75, 0.0), rtol=1e-15, atol=0)
    w = torch.randn_like(y)
    y.backward(w)
    torch.testing.assert_close(x.grad, torch.where(keep, w / 0.75, 0.0), rtol=1e-15, atol=0)


def test_softmax_dropout_is_dropout_of_the_softmax_with_its_gradient():
    x = torch.randn(3, 4, 30, 30, dtype=torch.float64, requires_grad=True)
    probs, scale = dropout.softmax_dropout(x, 0.3, True, dropout.MaskGenerator(2))
    keep = dropout.MaskGenerator(2).keep_mask(x.shape, 0.3)
    assert scale == 1 / 0.7
    ref_x = x.detach().clone().requires_grad_()
    ref = torch.where(keep, ref_x.softmax(-1) / 0.7, 0.0)
    torch.testing.assert_close(probs * scale, ref, rtol=1e-13, atol=0)
    w = torch.randn_like(ref)
    (probs * scale).backward(w)
    ref.backward(w)
    torch.testing.assert_close(x.grad, ref_x.grad, rtol=1e-10, atol=1e-14)
    assert dropout.softmax_dropout(x, 0.3, False, dropout.MaskGenerator(2))[1] == 1.0


def test_no_dropout_in_evaluation_or_at_p_zero():
    x, g = torch.randn(4, 5), dropout.MaskGenerator(0)
    assert dropout.dropout(x, 0.1, False, g) is x
    assert dropout.dropout(x, 0.0, True, g) is x
    module = dropout.Dropout(0.1, g).eval()
    assert module(x) is x
