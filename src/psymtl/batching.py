"""Length-grouped batches with dynamic padding, and how two datasets are mixed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def length_grouped(lengths: np.ndarray, batch_size: int, rng: np.random.Generator,
                   megabatch: int = 50) -> list[np.ndarray]:
    """Shuffle, sort by length inside mega-batches, cut into batches, shuffle batch order.

    Batches then hold posts of similar length (little padding) while staying random.
    """
    order = rng.permutation(len(lengths))
    size = batch_size * megabatch
    batches = []
    for start in range(0, len(order), size):
        mega = order[start:start + size]
        mega = mega[np.argsort(-lengths[mega], kind="stable")]
        batches += [mega[i:i + batch_size] for i in range(0, len(mega), batch_size)]
    rng.shuffle(batches)
    return batches


def train_batches(lengths: np.ndarray, groups: np.ndarray, batch_size: int, seed: int,
                  epoch: int, mixing: str = "proportional") -> list[np.ndarray]:
    """Batches for one epoch, reproducible from (seed, epoch).

    ``proportional``: one pool, so each dataset appears in proportion to its size.
    ``alternating``: batches come from one dataset at a time, taken in turn until all are used.
    """
    rng = np.random.default_rng([seed, epoch])
    if mixing == "proportional" or len(np.unique(groups)) == 1:
        return length_grouped(lengths, batch_size, rng)
    if mixing != "alternating":
        raise ValueError(f"unknown mixing {mixing!r}")
    per_group = []
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        per_group.append([idx[b] for b in length_grouped(lengths[idx], batch_size, rng)])
    out = []
    for i in range(max(map(len, per_group))):
        out += [batches[i] for batches in per_group if i < len(batches)]
    return out


def eval_batches(lengths: np.ndarray, batch_size: int, min_fill: float = 0.85
                 ) -> list[np.ndarray]:
    """Sorted by length, longest first. A batch holds at most ``batch_size`` x the median
    length in tokens (long posts in small batches, short ones in large: even memory) and no
    post shorter than ``min_fill`` x its longest (every batch at least that full). The caller
    undoes the order via the indices."""
    order = np.argsort(-lengths, kind="stable")
    budget = batch_size * max(1, int(np.median(lengths))) if len(lengths) else 0
    batches: list[np.ndarray] = []
    start = 0
    for i in range(1, len(order) + 1):
        width = int(lengths[order[start]])
        if (i == len(order) or (i - start + 1) * width > budget
                or lengths[order[i]] < min_fill * width):
            batches.append(order[start:i])
            start = i
    return batches


def collate(seqs: Sequence[np.ndarray], prefix: list[int], suffix: list[int],
            pad_id: int) -> dict[str, torch.Tensor]:
    """Add special tokens and pad to the longest sequence of the batch (dynamic padding)."""
    full = [np.concatenate([prefix, s, suffix]).astype(np.int64) for s in seqs]
    width = max(map(len, full))
    ids = np.full((len(full), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(full), width), dtype=np.int64)
    for i, f in enumerate(full):
        ids[i, :len(f)] = f
        mask[i, :len(f)] = 1
    return {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}


def padding_efficiency(batches: list[np.ndarray], lengths: np.ndarray) -> float:
    """Real tokens / tokens processed for a list of batches."""
    real = sum(int(lengths[b].sum()) for b in batches)
    total = sum(int(lengths[b].max()) * len(b) for b in batches)
    return real / total if total else 1.0
