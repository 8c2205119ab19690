"""Padding efficiency (real tokens / tokens processed) of our batches vs fixed-length padding
and vs dynamic padding over randomly ordered batches, on the demo and the real corpora, at
the default config's and the paper config's maximum lengths."""

from __future__ import annotations

import numpy as np

from benchmarks import corpora
from benchmarks.common import row
from psymtl import batching


def efficiencies(lengths: np.ndarray, max_length: int, batch_size: int = 16,
                 seed: int = 1) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    random_batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    train = batching.train_batches(lengths, np.zeros(len(lengths)), batch_size, seed, 0)
    return {
        "fixed-length padding": float(lengths.sum() / (len(lengths) * max_length)),
        "dynamic, random order": batching.padding_efficiency(random_batches, lengths),
        "ours: training batches": batching.padding_efficiency(train, lengths),
        "ours: evaluation batches": batching.padding_efficiency(
            batching.eval_batches(lengths, 64), lengths),
    }


def measure(max_lengths: tuple[int, ...] = (128, 512)) -> list[dict]:
    rows = []
    for name, df in corpora.corpora().items():
        for max_length in max_lengths:
            ids, layout = corpora.token_ids(df["text"].tolist(), max_length)
            extra = len(layout["prefix"]) + len(layout["suffix"])
            lengths = np.array([len(x) + extra for x in ids])
            eff = efficiencies(lengths, max_length)
            ours_train, ours_eval = eff.pop("ours: training batches"), eff.pop(
                "ours: evaluation batches")
            rows.append(row("padding efficiency", f"{name} ({len(lengths)} posts), "
                            f"len<={max_length}", "ours: training batches", ours_train,
                            "real/processed", ratio=ours_train / eff["dynamic, random order"],
                            goal=">= 0.9 (training and evaluation)",
                            met=min(ours_train, ours_eval) >= 0.9,
                            ours_evaluation_batches=ours_eval, **eff,
                            median_tokens=float(np.median(lengths))))
    return rows
