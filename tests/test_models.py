"""Architectures and loss weightings of the three studies, on tiny encoders."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from psymtl import datasets, encoders, models, weighting

TASKS = datasets.tasks({name: {} for name in ("cancer", "dreaddit", "pirina", "fig_loneliness")})

IDS = torch.randint(1000, 2000, (4, 9), generator=torch.Generator().manual_seed(0))
MASK = torch.ones_like(IDS)
MASK[0, 6:] = 0


def tiny(seed: int = 0):
    return encoders.load_encoder("tiny-bert", seed=seed)


@pytest.mark.parametrize("fusion", ["none", "attention", "concat"])
def test_double_encoder_task_layers_get_only_their_task_gradient(fusion):
    tasks = [TASKS["depression"], TASKS["stress"]]
    model = models.build("double_encoder", tiny(), tasks, fusion=fusion, dropout=0.0)
    out = model(IDS, MASK)
    out["depression"].sum().backward()
    grads = {n: any(p.grad is not None and p.grad.abs().sum() > 0 for p in layer.parameters())
             for n, layer in model.task_layers.layers.items()}
    assert grads == {"depression": True, "stress": False}
    shared = next(model.encoder.parameters()).grad
    assert shared is not None and shared.abs().sum() > 0  # the shared encoder learns from both


def test_attention_fusion_weights_are_a_distribution_per_post():
    tasks = [TASKS["depression"], TASKS["stress"]]
    model = models.build("double_encoder", tiny(), tasks, fusion="attention").eval()
    out = model(IDS, MASK)
    a = out["_alpha_shared_depression"]
    assert a.shape == (4,) and ((a > 0) & (a < 1)).all()


def test_padding_does_not_change_outputs():
    model = models.build("double_encoder", tiny(), [TASKS["depression"]], fusion="attention").eval()
    pad = torch.zeros(4, 3, dtype=IDS.dtype)
    a = model(IDS, MASK)["depression"]
    b = model(torch.cat([IDS, pad], 1), torch.cat([MASK, pad], 1))["depression"]
    assert torch.allclose(a, b, atol=1e-5)


FIG = ["lonely", "temporal", "interaction", "context_pri", "interpersonal_pri"]


@pytest.mark.parametrize("beta", [0.0, 0.3, 1.0])
def test_hdln_mixes_local_and_global(beta):
    model = models.build("hdln", tiny(), [TASKS[n] for n in FIG], beta=beta).eval()
    out = model(IDS, MASK)
    for n in FIG:
        p = out[n].exp()
        assert torch.allclose(p.sum(-1), torch.ones(4), atol=1e-5)
        expected = beta * out[f"L/{n}"].exp() + (1 - beta) * out[f"G/{n}"].exp()
        assert torch.allclose(p, expected, atol=1e-5)


def test_hdln_children_are_conditioned_on_the_root():
    model = models.build("hdln", tiny(), [TASKS[n] for n in FIG]).eval()
    root_in = model.local["temporal"].net[1].in_features
    assert root_in == model.d + 2  # [g2; P_L(lonely)]


def test_hdln_losses_skip_masked_fine_grained_targets():
    torch.manual_seed(0)  # the heads' initialisation
    model = models.build("hdln", tiny(), [TASKS[n] for n in FIG])
    out = model(IDS, MASK)
    batch = {}
    for n in FIG:
        k = TASKS[n].n_out
        # far from the model's near-uniform output: a KL of a near-uniform target would be a
        # difference of near-equal terms, compared to rounding rather than to the formula
        batch[f"y_{n}"] = torch.softmax(torch.arange(k, dtype=torch.float) * 2, 0).repeat(4, 1)
        batch[f"m_{n}"] = torch.tensor([True, True, False, False]) if n != "lonely" \
            else torch.ones(4, dtype=torch.bool)
    batch["m_interaction"] = torch.zeros(4, dtype=torch.bool)  # no lonely post in the batch
    norm = {n: 4.0 for n in FIG}
    losses = model.losses(out, batch, "kl", norm)
    assert "G/interaction" not in losses and "L/temporal" in losses
    # a term is the sum over the examples with a target, over the task's normaliser
    per = torch.nn.functional.kl_div(out["L/temporal"][:2], batch["y_temporal"][:2],
                                     reduction="none").sum(-1)
    assert float(losses["L/temporal"].detach()) == pytest.approx(float(per.sum().detach() / 4),
                                                                  rel=1e-4)


def test_hierarchical_weights_keep_l1_norm_one_while_learning():
    tasks = [TASKS[n] for n in FIG]
    comb = weighting.build({"kind": "hierarchical", "learn": True}, tasks)
    opt = torch.optim.SGD(comb.parameters(), lr=1.0)
    losses = {f"{p}/{n}": torch.tensor(float(i + 1)) for i, n in enumerate(FIG) for p in "GL"}
    for _ in range(5):
        opt.zero_grad()
        comb(losses).backward()
        opt.step()
    w = comb.weights()
    for group in ("gamma_g", "gamma_l"):
        vals = [v for k, v in w.items() if k.startswith(group)]
        assert sum(vals) == pytest.approx(1.0) and min(vals) >= 0
    assert w["lambda/global"] + w["lambda/local"] == pytest.approx(1.0)
    assert w["gamma_g/lonely"] > 0.2 > w["gamma_g/interpersonal_pri"]  # smallest loss gains


def test_fixed_hierarchical_weights_are_uniform_and_frozen():
    comb = weighting.build({"kind": "hierarchical", "learn": False}, [TASKS[n] for n in FIG])
    assert not any(p.requires_grad for p in comb.parameters())
    assert sorted({round(v, 6) for v in comb.weights().values()}) == [0.2, 0.5]


def test_kendall_weighting_formulation():
    tasks = [TASKS["burden"], TASKS["high_need"]]
    comb = weighting.build({"kind": "kendall"}, tasks)
    with torch.no_grad():
        comb.log_var.copy_(torch.tensor([math.log(4.0), math.log(2.0)]))
    total = comb({"burden": torch.tensor(8.0), "high_need": torch.tensor(2.0)})
    # regression: 0.5 * exp(-s) L + 0.5 s; classification: exp(-s) L + 0.5 s
    expected = 0.5 / 4 * 8 + 0.5 * math.log(4) + 1 / 2 * 2 + 0.5 * math.log(2)
    assert float(total.detach()) == pytest.approx(expected)
    assert comb.weights() == pytest.approx({"burden": 0.125, "high_need": 0.5})


def test_flat_loss_is_lonely_plus_the_mean_of_the_fine_grained_terms():
    """FIG-Loneliness Eq. 1, as the default config's Study C `flat` condition declares it."""
    from psymtl import settings

    cond = settings.condition(settings.load(workdir=Path(__file__).resolve().parents[1]), "C",
                              "flat")
    comb = weighting.build(cond["weighting"], [TASKS[n] for n in cond["tasks"]])
    losses = {n: torch.tensor(float(i + 1)) for i, n in enumerate(cond["tasks"])}
    assert cond["tasks"][0] == "lonely"
    assert float(comb(losses)) == pytest.approx(1 + (2 + 3 + 4 + 5) / 4)


def test_fixed_weights_beta():
    comb = weighting.build({"kind": "fixed", "weights": {"stress": 0.01}},
                           [TASKS["depression"], TASKS["stress"]])
    total = comb({"depression": torch.tensor(1.0), "stress": torch.tensor(10.0)})
    assert float(total) == pytest.approx(1.1)
    with pytest.raises(ValueError, match="unknown task"):
        weighting.build({"kind": "fixed", "weights": {"stres": 0.01}}, [TASKS["stress"]])


@pytest.mark.parametrize("fusion", ["none", "attention", "concat"])
def test_double_encoder_skips_posts_without_the_tasks_target_with_the_same_gradients(fusion):
    tasks = [TASKS["depression"], TASKS["stress"]]
    model = models.build("double_encoder", tiny(), tasks, fusion=fusion, dropout=0.0)
    for mod in model.modules():  # training mode, but deterministic
        if isinstance(mod, torch.nn.Dropout):
            mod.p = 0.0
    m_dep = torch.tensor([True, True, False, False])
    masks = {"m_depression": m_dep, "m_stress": ~m_dep}
    grads = []
    for batch in ({}, masks):  # every post through every task layer, or only its own
        model.zero_grad()
        out = model(IDS, MASK, **batch)
        loss = out["depression"][m_dep].logsumexp(-1).sum() + out["stress"][~m_dep].sum()
        loss.backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()
                      if p.grad is not None})
    assert grads[0].keys() == grads[1].keys()
    for n, g in grads[0].items():
        assert torch.allclose(g, grads[1][n], rtol=1e-4, atol=1e-6), n
