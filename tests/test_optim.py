"""psymtl.optim: torch.optim.AdamW, fused, with the groups' own settings; transformers'
schedules; an exact resume from a saved state."""

from __future__ import annotations

import io

import pytest
import torch
from transformers import get_cosine_schedule_with_warmup, get_linear_schedule_with_warmup

from psymtl.optim import adamw, lr_schedule


def params(seed: int) -> list[torch.nn.Parameter]:
    g = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(*shape, generator=g))
            for shape in ((6, 4), (4,), (3, 5), (1,))]


def groups(ps: list[torch.nn.Parameter]) -> list[dict]:
    """Weight decay on the matrices, none on the vectors, a group with its own lr (the
    learned loss weights')."""
    return [{"params": [ps[0], ps[2]], "weight_decay": 0.01},
            {"params": [ps[1]], "weight_decay": 0.0},
            {"params": [ps[3]], "weight_decay": 0.0, "lr": 1e-2}]


def train(ps, optim, sched, steps: range) -> None:
    for step in steps:
        g = torch.Generator().manual_seed(100 + step)
        for i, p in enumerate(ps):  # the last parameter has no gradient in odd steps
            p.grad = None if (i == 3 and step % 2) else torch.randn(p.shape, generator=g)
        optim.step()
        sched.step()


def test_updates_equal_torch_fused_adamw():
    ours, theirs = params(1), params(1)
    opt = adamw(groups(ours), lr=1e-3)
    ref = torch.optim.AdamW(groups(theirs), lr=1e-3, weight_decay=0.01, fused=True)
    train(ours, opt, lr_schedule(opt, "linear", 2, 8), range(8))
    train(theirs, ref, get_linear_schedule_with_warmup(ref, 2, 8), range(8))
    for a, b in zip(ours, theirs, strict=True):
        assert torch.equal(a, b)
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in ref.param_groups]
    assert [g["weight_decay"] for g in opt.param_groups] == [0.01, 0.0, 0.0]
    assert all(g["fused"] for g in opt.param_groups)
    assert float(opt.state[ours[3]]["step"]) == 4  # a step without a gradient is no step


def test_resumes_exactly_from_a_saved_state():
    full = params(2)
    opt = adamw(groups(full), lr=1e-3)
    train(full, opt, lr_schedule(opt, "cosine", 2, 10), range(10))
    cut = params(2)
    opt = adamw(groups(cut), lr=1e-3)
    sched = lr_schedule(opt, "cosine", 2, 10)
    train(cut, opt, sched, range(4))
    buf = io.BytesIO()
    torch.save({"optim": opt.state_dict(), "sched": sched.state_dict(),
                "params": [p.detach().clone() for p in cut]}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=False)
    resumed = [torch.nn.Parameter(p) for p in saved["params"]]
    opt = adamw(groups(resumed), lr=1e-3)
    sched = lr_schedule(opt, "cosine", 2, 10)
    opt.load_state_dict(saved["optim"])
    sched.load_state_dict(saved["sched"])
    train(resumed, opt, sched, range(4, 10))
    for a, b in zip(resumed, full, strict=True):
        assert torch.equal(a, b)


def test_a_state_with_other_groups_is_refused():
    opt = adamw(groups(params(3)), lr=1e-3)
    with pytest.raises(ValueError, match="parameter group"):
        adamw([{"params": params(3)}], lr=1e-3).load_state_dict(opt.state_dict())


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_learning_rate_schedules_equal_transformers(kind):
    theirs = {"linear": get_linear_schedule_with_warmup,
              "cosine": get_cosine_schedule_with_warmup}[kind]
    ours_opt = adamw([{"params": [torch.nn.Parameter(torch.zeros(1))]}], lr=0.5)
    ref_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    ours, ref = lr_schedule(ours_opt, kind, 7, 37), theirs(ref_opt, 7, 37)
    rates = []
    for _ in range(40):
        rates.append((ours_opt.param_groups[0]["lr"], ref_opt.param_groups[0]["lr"]))
        ref_opt.step()
        ours_opt.step()  # no gradient: no update, but the order the schedule expects
        ours.step()
        ref.step()
    assert [a for a, _ in rates] == [b for _, b in rates]
    with pytest.raises(ValueError, match="unknown schedule"):
        lr_schedule(ours_opt, "step", 1, 2)
