"""What the loss sees: every example of a task carries the same weight whatever batch it lands
in, under every mixing mode, and learned loss weights actually move."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from psymtl import batching, datasets, losses
from psymtl.trainer import Split, loss_normalisers

TASKS = datasets.tasks({name: {} for name in ("cancer", "dreaddit", "pirina", "fig_loneliness")})

DEP, STRESS = TASKS["depression"], TASKS["stress"]


def skewed(seed: int = 0) -> Split:
    """Depression: positives long, negatives short (as Pirina's dsf / ndf posts); stress
    posts in between and 3.5x as many: length-grouped batches then hold very different
    numbers of depression posts."""
    rng = np.random.default_rng(seed)
    n_dep, n_st = 200, 700
    y_dep = rng.integers(0, 2, n_dep)
    lengths = np.concatenate([np.where(y_dep == 1, rng.integers(100, 126, n_dep),
                                       rng.integers(8, 30, n_dep)),
                              rng.integers(30, 100, n_st)])
    ids = [np.ones(n, dtype=np.int64) for n in lengths]
    dataset = np.array(["pirina"] * n_dep + ["dreaddit"] * n_st)
    keys = pd.DataFrame({"id": [f"x{i}" for i in range(len(ids))], "split": "train",
                         "dataset": dataset})
    targets = {"depression": np.concatenate([y_dep, np.full(n_st, -1)]),
               "stress": np.concatenate([np.full(n_dep, -1), rng.integers(0, 2, n_st)])}
    present = {k: v >= 0 for k, v in targets.items()}
    return Split(keys=keys, ids=ids, layout={"prefix": [], "suffix": [], "pad_id": 0},
                 targets=targets, present=present)


def class_weights(data: Split, mixing: str, reduce, epochs: int = 6) -> dict[int, float]:
    """Mean effective weight (d loss term / d per-example loss, summed over an epoch) of the
    depression examples of each class."""
    groups = data.keys["dataset"].to_numpy()
    w = np.zeros(len(data))
    for epoch in range(epochs):
        batches = batching.train_batches(data.lengths, groups, 16, 1, epoch, mixing)
        norm = loss_normalisers(data, [DEP, STRESS], len(batches))
        for idx in batches:
            m = data.present["depression"][idx]
            if not m.any():
                continue
            probe = torch.ones(int(m.sum()), requires_grad=True)
            reduce(probe, norm["depression"]).backward()
            w[idx[m]] += probe.grad.numpy()
    y = data.targets["depression"]
    return {c: float(w[(y == c)].mean() / epochs) for c in (0, 1)}


@pytest.mark.parametrize("mixing", ["proportional", "alternating"])
def test_every_depression_example_weighs_the_same_whatever_its_batch(mixing):
    data = skewed()
    w = class_weights(data, mixing, losses.term)
    assert w[0] == pytest.approx(w[1], rel=0.05), w
    if mixing == "proportional":  # a per-batch mean, as before, weighs short posts up
        old = class_weights(data, mixing, lambda x, _: x.mean())
        assert old[0] > 1.1 * old[1], old


def test_normalisers_are_mean_examples_of_the_tasks_dataset_per_step():
    data = skewed()
    norm = loss_normalisers(data, [DEP, STRESS], steps=50)
    assert norm == {"depression": 200 / 50, "stress": 700 / 50}


def test_kendall_weights_move_at_their_own_learning_rate(tmp_path):
    """At the default weighting lr the log-variances adapt within a short run; the model's
    own lr (1e-4, as before) leaves them where they started."""
    from psymtl import encoders, models, weighting
    from psymtl.trainer import Settings, fit, seed_everything

    rng = np.random.default_rng(0)
    n = 160
    tasks = [TASKS["burden"], TASKS["high_need"]]
    ids = [rng.integers(1000, 1100, rng.integers(4, 12)) for _ in range(n)]
    keys = pd.DataFrame({"id": [f"p{i}" for i in range(n)], "split": "train",
                         "dataset": "cancer"})
    split = Split(keys=keys, ids=ids, layout={"prefix": [101], "suffix": [102], "pad_id": 0},
                  targets={"burden": rng.normal(0, 3, n).astype(np.float32),
                           "high_need": rng.integers(0, 2, n)},
                  present={"burden": np.ones(n, bool), "high_need": np.ones(n, bool)})
    moved = {}
    for lr in (None, 1e-4):
        seed_everything(1)
        model = models.build("multihead", encoders.load_encoder("tiny-bert", 1), tasks)
        spec = {"kind": "kendall"} | ({"lr": lr} if lr else {})
        comb = weighting.build(spec, tasks)
        s = Settings(epochs=2, batch_size=16, lr=1e-4, seed=1, patience=5, device="cpu")
        summary = fit(model, comb, tasks, split, split, s, lambda p: 0.0, tmp_path / str(lr))
        first, last = summary["log"][0], summary["log"][-1]
        moved[lr] = abs(last["w_burden"] / first["w_burden"] - 1)
        assert summary["loss_weights_lr"] == (lr or weighting.LEARNED_LR)
    assert moved[None] > 0.05, moved  # the default: visibly adapts in 20 steps
    assert moved[1e-4] < 0.01, moved  # the encoder's lr: barely moves
