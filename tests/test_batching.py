from __future__ import annotations

import numpy as np

from psymtl import batching


def test_length_grouping_beats_fixed_padding():
    rng = np.random.default_rng(0)
    lengths = rng.integers(8, 128, size=2000)
    batches = batching.train_batches(lengths, np.zeros(2000), 16, seed=1, epoch=0)
    assert sorted(np.concatenate(batches).tolist()) == list(range(2000))  # every example once
    grouped = batching.padding_efficiency(batches, lengths)
    fixed = lengths.sum() / (128 * len(lengths))
    random_batches = np.array_split(rng.permutation(2000), 125)
    assert grouped > 0.9 > batching.padding_efficiency(random_batches, lengths) > fixed


def test_batches_depend_on_seed_and_epoch_only():
    lengths = np.arange(100) % 17 + 3
    groups = np.zeros(100)
    a = batching.train_batches(lengths, groups, 8, 1, 0)
    b = batching.train_batches(lengths, groups, 8, 1, 0)
    c = batching.train_batches(lengths, groups, 8, 1, 1)
    assert all((x == y).all() for x, y in zip(a, b, strict=True))
    assert any((x != y).any() for x, y in zip(a, c, strict=False) if len(x) == len(y))


def test_alternating_mixing_takes_datasets_in_turn():
    groups = np.array(["main"] * 40 + ["aux"] * 80)
    lengths = np.full(120, 10)
    batches = batching.train_batches(lengths, groups, 10, 1, 0, mixing="alternating")
    kinds = [set(groups[b]) for b in batches]
    assert all(len(k) == 1 for k in kinds)  # one dataset per batch
    first = [k.pop() for k in kinds[:8]]
    assert first == ["aux", "main"] * 4
    assert sum(len(b) for b in batches) == 120


def test_collate_adds_specials_and_pads_to_longest():
    b = batching.collate([np.array([5, 6]), np.array([7])], prefix=[101], suffix=[102], pad_id=0)
    assert b["input_ids"].tolist() == [[101, 5, 6, 102], [101, 7, 102, 0]]
    assert b["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]


def test_eval_batches_sorted_by_length_within_a_token_budget():
    lengths = np.array([3, 9, 1, 7, 2, 2, 2, 2, 8])
    batches = batching.eval_batches(lengths, 4)  # budget: 4 x median 2 = 8 tokens
    assert np.concatenate(batches).tolist() == [1, 8, 3, 0, 4, 5, 6, 7, 2]
    # 9 > budget goes alone; 8 fills it; 7, then 3 (< 0.85 x 7) starts a new batch; the
    # four 2s fill 8; 1 (< 0.85 x 2) goes alone
    assert [b.tolist() for b in batches] == [[1], [8], [3], [0], [4, 5, 6, 7], [2]]
    assert batching.eval_batches(np.array([], dtype=int), 4) == []
