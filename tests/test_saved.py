"""A saved model is scored in the precision its run predicted in (bf16 autocast or fp32)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import torch

from psymtl import datasets, encoders, machine, models, saved

TASKS = datasets.tasks({name: {} for name in ("cancer", "dreaddit", "pirina", "fig_loneliness")})

POSTS = pd.DataFrame({"id": ["a", "b", "c"],
                      "text": ["I can't sleep and feel hopeless", "great day at the park",
                               "so much stress before the deadline, my chest is tight"]})


@pytest.fixture
def bf16_run(tmp_path):
    """A tiny stress model saved as a run that trained under bf16 autocast."""
    task = TASKS["stress"]
    torch.manual_seed(3)
    model = models.build("multihead", encoders.load_encoder("tiny-bert", 3), [task])
    layout = {"prefix": [101], "suffix": [102], "pad_id": 0, "max_length": 32}
    cond = {"encoder": "tiny-bert", "model": "multihead", "tasks": ["stress"]}
    saved.save(model, [task], cond, 3, layout, {}, tmp_path / "model", bf16=True)
    return tmp_path / "model"


def test_bf16_run_is_scored_under_bf16_where_the_cpu_runs_it(bf16_run, monkeypatch, caplog):
    monkeypatch.setattr(machine, "cpu_flags", lambda: {"avx512_bf16"})  # native bf16
    fast, prov = saved.score([bf16_run], POSTS, progress=False)
    assert prov["bf16_autocast"] == [True]
    monkeypatch.setattr(machine, "cpu_flags", lambda: {"avx2"})  # emulated only
    with caplog.at_level(logging.WARNING, logger="psymtl.saved"):
        exact, prov = saved.score([bf16_run], POSTS, progress=False)
    assert prov["bf16_autocast"] == [False] and "scored in fp32" in caplog.text
    cols = ["stress:no", "stress:yes"]
    np.testing.assert_allclose(fast[cols], exact[cols], atol=0.05)  # bf16 rounding only
    assert not np.array_equal(fast[cols].to_numpy(), exact[cols].to_numpy())
