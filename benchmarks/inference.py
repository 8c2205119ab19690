"""Inference throughput for evaluation: our `predict` (no grad, length-sorted batches within
a token budget) vs `transformers.Trainer.predict` (dynamic padding, dataset order), same
model and batch size; the outputs must agree."""

from __future__ import annotations

import tempfile
import time

import numpy as np
import torch
from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

from benchmarks import corpora
from benchmarks.common import median, row
from benchmarks.trainer import ENCODER, TASK, _Adapter, data, features, model
from psymtl import saved
from psymtl.trainer import pick_device, predict


def ours(m, split, batch_size: int) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    p = predict(m, [TASK], split, batch_size, pick_device("auto"),
                torch.cuda.is_available())[TASK.name]
    return time.perf_counter() - t0, p


def standard(m, split, batch_size: int) -> tuple[float, np.ndarray]:
    feats = features(split)
    collator = DataCollatorWithPadding(corpora.tokenizer(ENCODER))
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(output_dir=tmp, per_device_eval_batch_size=batch_size,
                                 use_cpu=not torch.cuda.is_available(), report_to="none",
                                 disable_tqdm=True, remove_unused_columns=False)
        trainer = Trainer(model=_Adapter(m), args=args, data_collator=collator)
        t0 = time.perf_counter()
        logits = trainer.predict(feats).predictions
    probs = torch.softmax(torch.as_tensor(logits).float(), -1).numpy()
    return time.perf_counter() - t0, probs


def measure(repeats: int = 3, n: int = 512, max_length: int = 512, batch_size: int = 64,
            threads: int = 2) -> list[dict]:
    torch.set_num_threads(threads)
    _, split, name = data(8, n, max_length)
    m = model(1).eval()
    runs = {"ours": [], "standard": []}
    for _ in range(repeats):
        runs["ours"].append(ours(m, split, batch_size))
        runs["standard"].append(standard(m, split, batch_size))
    scoring = score_posts(m, split, max_length, repeats)
    agree = float(np.abs(runs["ours"][0][1] - runs["standard"][0][1]).max())
    t = {k: median(s for s, _ in v) for k, v in runs.items()}
    case = f"{name}, {ENCODER}, {len(split)} posts, len<={max_length}, batch {batch_size}"
    return [
        row("inference throughput", case, "ours: examples/s", len(split) / t["ours"], "ex/s",
            ratio=t["standard"] / t["ours"], max_abs_prob_difference=agree,
            seconds=[s for s, _ in runs["ours"]]),
        row("inference throughput", case, "transformers.Trainer.predict: examples/s",
            len(split) / t["standard"], "ex/s", seconds=[s for s, _ in runs["standard"]]),
        row("inference throughput", case, "scoring new posts from a saved run (load, "
            "tokenise, score): posts/s", len(split) / median(scoring), "posts/s",
            ratio=t["standard"] / median(scoring), seconds=scoring),
    ]


def score_posts(m, split, max_length: int, repeats: int) -> list[float]:
    """`snakemake predict`'s work: the same posts as text, scored by the model saved."""
    df = corpora.real("dreaddit")
    df = corpora.demo("dreaddit") if df is None else df
    posts = df.set_index(df["id"].astype(str)).loc[split.keys["id"].astype(str), ["text"]]
    posts = posts.reset_index(names="id")
    cond = {"encoder": ENCODER, "model": "multihead", "model_args": {}}
    seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        saved.save(m, [TASK], cond, 1, {**split.layout, "max_length": max_length}, {}, tmp)
        for _ in range(repeats):
            t0 = time.perf_counter()
            saved.score([tmp], posts, progress=False)
            seconds.append(time.perf_counter() - t0)
    return seconds
