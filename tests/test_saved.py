"""Saved models: scored in the precision their run predicted in, as one run or the mean of
seeds, through `psymtl.load`, `saved.score` and `python -m psymtl predict`."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import torch

from psymtl import datasets, encoders, machine, models, saved
from psymtl.errors import InputError

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


@pytest.fixture
def two_seeds(tmp_path):
    """A stress + depression model saved for two seeds (tiny, random)."""
    tasks = [TASKS["stress"], TASKS["depression"]]
    layout = {"prefix": [101], "suffix": [102], "pad_id": 0, "max_length": 32}
    cond = {"encoder": "tiny-bert", "model": "multihead", "tasks": ["stress", "depression"]}
    out = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        model = models.build("multihead", encoders.load_encoder("tiny-bert", seed), tasks)
        saved.save(model, tasks, cond, seed, layout, {}, tmp_path / f"seed{seed}" / "model")
        out.append(tmp_path / f"seed{seed}" / "model")
    return out


def test_load_scores_texts_as_the_mean_of_the_seeds(two_seeds, monkeypatch):
    import psymtl

    def no_process_changes():
        raise AssertionError("a library call changed the process's allocator")

    monkeypatch.setattr(machine, "keep_freed_memory", no_process_changes)
    texts = POSTS["text"].tolist()
    both = psymtl.load(two_seeds).score(texts)
    each = [psymtl.load(f).score(texts) for f in two_seeds]
    cols = ["stress:no", "stress:yes", "depression:no", "depression:yes"]
    assert sorted(both.columns) == sorted([*cols, "stress", "depression"])
    np.testing.assert_allclose(both[cols], (each[0][cols] + each[1][cols]) / 2, atol=1e-6)
    assert set(both["stress"]) <= {"no", "yes"} and len(both) == 3
    np.testing.assert_allclose(both[cols[:2]].sum(axis=1), 1, atol=1e-5)
    with_ids = saved.score(two_seeds, POSTS, progress=False)[0]
    assert with_ids["id"].tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(with_ids[cols], both[cols], atol=1e-6)


def test_load_refuses_what_it_cannot_score(two_seeds, tmp_path):
    import psymtl

    ens = psymtl.load(two_seeds[0])
    with pytest.raises(TypeError, match="not one string"):
        ens.score("one post")
    with pytest.raises(ValueError, match="text 1 is empty"):
        ens.score(["fine", "  "])
    with pytest.raises(InputError, match="not a saved model folder"):
        psymtl.load(tmp_path)


def test_predict_command_scores_a_csv(two_seeds, tmp_path, capsys):
    from psymtl.__main__ import main

    POSTS.to_csv(tmp_path / "posts.csv", index=False)
    out = tmp_path / "out" / "scores.csv"
    assert main(["predict", *map(str, two_seeds), str(tmp_path / "posts.csv"),
                 "-o", str(out)]) == 0
    table = pd.read_csv(out)
    expected = saved.score(two_seeds, POSTS, progress=False)[0]
    assert table["id"].tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(table["stress:yes"], expected["stress:yes"], atol=1e-6)
    prov = pd.read_json(out.with_suffix(".json"), typ="series")
    assert prov["seeds"] == [1, 2] and prov["posts"] == 3
    # the same checks as `snakemake predict`: one line naming the file, line and field
    (tmp_path / "bad.csv").write_text('id,text\na,"fine"\nb,""\n')
    assert main(["predict", str(two_seeds[0]), str(tmp_path / "bad.csv"), "-o",
                 str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv, line 3, field 'text': empty text" in err and "Traceback" not in err
