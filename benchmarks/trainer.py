"""Training throughput: our trainer vs `transformers.Trainer` on the same encoder (the packaged
pretrained MiniLM-L6), data (Dreaddit stress: the real set where present, else the demo),
batch size and hyperparameters; both models are then scored by the same prediction code.

The standard trainer runs as its documentation sets it up for text classification: the
tokenizer's dynamic-padding collator over randomly ordered examples. Its first row trains
our hand-written encoder module (`psymtl.transformer`, as "ours" does), so that the
comparison is about the training loop only; a second row gives it its optional
`group_by_length` sampler; a third trains `transformers`' own BertModel: the stack a
`transformers` user runs, which the ratios and the goals (:data:`LEAD`) are taken against.

:func:`encoder_paths` puts the encoder implementations side by side in our own loop (the
hand-written encoder against `transformers`' BertModel, SDPA and eager): the measure that
decides whether `encoder_impl: psymtl` stays (docs/encoders.md)."""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from transformers import AutoModel, DataCollatorWithPadding, Trainer, TrainingArguments, set_seed

from benchmarks import corpora
from benchmarks.common import median, row
from psymtl import batching, datasets, encoders, machine, models, weighting
from psymtl.optim import adamw
from psymtl.trainer import Settings, Split, fit, pick_device, precision, predict, seed_everything

TASK = datasets.tasks({"dreaddit": {}})["stress"]
ENCODER = "minilm"
STACK = "transformers.Trainer, transformers' BertModel"
# The lead over the stack a `transformers` user runs (the goals, by max length); the
# `Trainer` on our encoder module isolates the loop and is reported beside it.
LEAD = {512: 1.8, 128: 1.5}


def data(n_train: int, n_dev: int, max_length: int, seed: int = 0) -> tuple[Split, Split, str]:
    df = corpora.real("dreaddit")
    name = "real/dreaddit"
    if df is None:
        df, name = corpora.demo("dreaddit"), "demo/dreaddit"
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(df))
    if n_train + n_dev > len(df):  # a small stand-in corpus: three quarters train, rest dev
        n_train, n_dev = 3 * len(df) // 4, len(df) - 3 * len(df) // 4
    parts = {"train": df.iloc[order[:n_train]], "dev": df.iloc[order[n_train:n_train + n_dev]]}
    out = []
    for split, part in parts.items():
        ids, layout = corpora.token_ids(part["text"].tolist(), max_length, ENCODER)
        keys = pd.DataFrame({"id": part["id"].to_numpy(), "split": split, "dataset": "dreaddit"})
        y = part["stress"].to_numpy()
        out.append(Split(keys=keys, ids=ids, layout=layout, targets={TASK.name: y},
                         present={TASK.name: np.ones(len(y), dtype=bool)}))
    return out[0], out[1], name


def model(seed: int, encoder: str = "psymtl", seeding: str = "psymtl") -> models.TaskModel:
    """MiniLM with a stress head; the encoder computed by ``psymtl.transformer``
    (``encoder_impl: psymtl``) or by ``transformers``' BertModel. The same seeded head
    either way. Seeded as our trainer does (deterministic mode included) or as
    ``transformers.set_seed`` does, which ``Trainer`` calls itself (no deterministic mode: a
    peer runs as its users run it)."""
    if encoder == "psymtl":
        enc = encoders.load_encoder(ENCODER, impl="psymtl")
    else:
        enc = AutoModel.from_pretrained(encoders.resolve(ENCODER))
    (seed_everything if seeding == "psymtl" else set_seed)(seed)
    return models.build("multihead", enc, [TASK])


def dev_f1(m: models.TaskModel, dev: Split) -> float:
    p = predict(m, [TASK], dev, 64, pick_device("auto"), torch.cuda.is_available())[TASK.name]
    return TASK.kind.metrics(dev.targets[TASK.name], p)["f1"]


def ours(train: Split, dev: Split, s: Settings) -> dict:
    m = model(s.seed)
    with tempfile.TemporaryDirectory() as tmp:
        summary = fit(m, weighting.build({"kind": "fixed"}, [TASK]), [TASK], train, dev, s,
                      lambda pred: 0.0, tmp)  # keep the last epoch, as the peer does
    return {"seconds": summary["seconds"], "f1": dev_f1(m, dev)}


def features(split: Split) -> list[dict]:
    """Each post's input ids with the special tokens, as `transformers.Trainer` takes them."""
    pre, suf = split.layout["prefix"], split.layout["suffix"]
    return [{"input_ids": [*pre, *map(int, ids), *suf]} for ids in split.ids]


class _Adapter(nn.Module):
    """The same model, with the forward signature `transformers.Trainer` expects."""

    def __init__(self, m: models.TaskModel):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask, labels=None):
        logits = self.m(input_ids=input_ids, attention_mask=attention_mask)[TASK.name]
        if labels is None:
            return {"logits": logits}
        return {"loss": nn.functional.cross_entropy(logits.float(), labels), "logits": logits}


def standard(train: Split, dev: Split, s: Settings, sampling: str = "random",
             encoder: str = "psymtl") -> dict:
    m = model(s.seed, encoder, seeding="transformers")
    feats = [f | {"labels": int(y), "length": len(f["input_ids"])} for f, y in
             zip(features(train), train.targets[TASK.name], strict=True)]
    cuda = torch.cuda.is_available()
    prec = precision(torch.device("cuda"), s) if cuda else "fp32"  # as our fit picks it
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(
            output_dir=str(Path(tmp)), per_device_train_batch_size=s.batch_size,
            num_train_epochs=s.epochs, learning_rate=s.lr, weight_decay=s.weight_decay,
            warmup_steps=s.warmup_ratio, lr_scheduler_type=s.schedule,
            max_grad_norm=s.grad_clip, seed=s.seed, use_cpu=not cuda, bf16=prec == "bf16",
            fp16=prec == "fp16",
            save_strategy="no", eval_strategy="no", logging_strategy="no", report_to="none",
            disable_tqdm=True, dataloader_num_workers=0, remove_unused_columns=False,
            train_sampling_strategy=sampling)
        collator = DataCollatorWithPadding(corpora.tokenizer(ENCODER))

        def collate(batch):
            return collator([{k: f[k] for k in ("input_ids", "labels")} for f in batch])

        trainer = Trainer(model=_Adapter(m), args=args, train_dataset=feats,
                          data_collator=collate)
        out = trainer.train()
    return {"seconds": out.metrics["train_runtime"], "f1": dev_f1(m, dev)}


def _in_process(threads: int, system: Callable[..., dict], *args, **kwargs) -> dict:
    torch.set_num_threads(threads)
    return system(*args, **kwargs)


def isolated(threads: int, system: Callable[..., dict], *args, **kwargs) -> dict:
    """``system(*args, **kwargs)`` in a fresh process with ``threads`` threads, as a user runs
    each: nothing one system sets for its process (our trainer's memory reuse, random
    states, caches) reaches the next."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        return pool.submit(_in_process, threads, system, *args, **kwargs).result()


def peak_gflops(threads: int, dtype: torch.dtype = torch.float32) -> float:
    """This machine's measured matmul rate at encoder-sized shapes (a batch of 16 x 100
    tokens through a 384 -> 1536 projection), best of 5."""
    torch.set_num_threads(threads)
    a, b = torch.randn(1600, 384, dtype=dtype), torch.randn(384, 1536, dtype=dtype)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(10):
            a @ b
        best = min(best, (time.perf_counter() - t0) / 10)
    return 2 * 1600 * 384 * 1536 / best / 1e9


def train_flops(enc: nn.Module, lengths: np.ndarray) -> float:
    """Forward + backward FLOPs of the encoder on posts of ``lengths`` tokens: 6 x the
    non-embedding parameters per token, plus attention (QK^T and AV: 4 L^2 d per layer
    forward, x3 with backward)."""
    cfg = enc.config
    params = sum(p.numel() for n, p in enc.named_parameters() if "embeddings" not in n)
    tokens = float(lengths.sum())
    attention = 3 * 4 * cfg.num_hidden_layers * cfg.hidden_size * float((lengths ** 2).sum())
    return 6 * params * tokens + attention


OP_FAMILIES = {  # an operator counts in the first family one of whose names it contains
    "matrix products": ("aten::mm", "aten::addmm", "aten::bmm"),
    "attention softmax": ("softmax", "scaled_dot_product"),
    "dropout masks": ("bernoulli", "Dropout", "SoftmaxZeroed"),  # its own time: the keys
    "GELU": ("gelu",), "layer norm": ("layer_norm",),
    "elementwise mul / add / div": ("aten::mul", "aten::add", "aten::div"),
    "sums (bias gradients, norms)": ("aten::sum", "norm"),
    "fill / copy": ("aten::fill_", "aten::copy_"), "optimizer": ("adamw",)}


def op_family(op: str) -> str:
    return next((f for f, names in OP_FAMILIES.items() if any(n in op for n in names)), "other")


def where_time_goes(train: Split, s: Settings, steps: int = 12) -> dict[str, float]:
    """Shares of one training step's time, our loop's calls timed one by one (batch
    building, forward and loss, backward, gradient clipping, AdamW step), and the shares of
    the operator families in it (torch.profiler self CPU time)."""
    from torch.profiler import ProfilerActivity, profile

    machine.keep_freed_memory()  # as fit does
    m, device = model(s.seed), torch.device("cpu")  # the hand-written encoder, as "ours"
    combiner = weighting.build({"kind": "fixed"}, [TASK])
    optim = adamw([{"params": m.parameters()}], lr=s.lr)
    norm = {TASK.name: float(s.batch_size)}
    batches = batching.train_batches(train.lengths, train.keys["dataset"].to_numpy(),
                                     s.batch_size, s.seed, 0)[:steps + 2]
    phases = dict.fromkeys(("batch", "forward", "backward", "clip", "optimizer"), 0.0)

    def step(idx: np.ndarray, timed: bool) -> None:
        marks = [time.perf_counter()]
        b = train.batch(idx, device)
        marks.append(time.perf_counter())
        loss = combiner(m.losses(m(**b), b, s.distance, norm))
        marks.append(time.perf_counter())
        optim.zero_grad()
        loss.backward()
        marks.append(time.perf_counter())
        nn.utils.clip_grad_norm_(m.parameters(), s.grad_clip)
        marks.append(time.perf_counter())
        optim.step()
        marks.append(time.perf_counter())
        if timed:
            for k, a, z in zip(phases, marks, marks[1:], strict=False):
                phases[k] += z - a

    warm = min(2, len(batches) - 1)  # a small training set still leaves a step to time
    for idx in batches[:warm]:
        step(idx, False)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for idx in batches[warm:]:
            step(idx, True)
    total = sum(phases.values())
    ops = {e.key: e.self_cpu_time_total for e in prof.key_averages()}
    op_total = sum(ops.values())
    families = dict.fromkeys([*OP_FAMILIES, "other"], 0.0)
    for k, t in ops.items():
        families[op_family(k)] += t / op_total
    return ({f"step: {k}": v / total for k, v in phases.items()}
            | {f"ops: {k}": v for k, v in families.items()})


ENCODER_PATHS = ("psymtl.transformer", "transformers, sdpa", "transformers, eager")
"""The encoder implementations the benchmark runs side by side in our loop; ratios are
against the first."""


def encoder_module(impl: str) -> nn.Module:
    """The packaged MiniLM as ``impl`` computes it: the hand-written encoder
    (``encoder_impl: psymtl``), or ``transformers``' BertModel loaded in fp32 with the named
    attention implementation (``transformers, sdpa``: the default path)."""
    if impl == "psymtl.transformer":
        return encoders.load_encoder(ENCODER, impl="psymtl")
    return encoders.load_encoder(ENCODER, attn_implementation=impl.split(", ")[1])


def in_our_loop(train: Split, dev: Split, s: Settings, impl: str) -> dict:
    """Our training loop (``fit``) on MiniLM computed by ``impl``; the same head and seed.
    Wall and CPU seconds of the loop's epochs: on a machine shared with other work the CPU
    time of a one-thread process is the steadier measure (its wall time counts the waits
    for a core)."""
    enc = encoder_module(impl)
    seed_everything(s.seed)
    m = models.build("multihead", enc, [TASK])
    cpu0 = time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        summary = fit(m, weighting.build({"kind": "fixed"}, [TASK]), [TASK], train, dev, s,
                      lambda pred: 0.0, tmp)
    return {"seconds": summary["seconds"], "cpu_seconds": time.process_time() - cpu0,
            "bf16": summary["bf16_autocast"]}


def encoder_paths(repeats: int = 3, n_train: int = 48, n_dev: int = 8,
                  max_lengths: tuple[int, ...] = (128, 512), threads: int = 1,
                  impls: tuple[str, ...] = ENCODER_PATHS) -> list[dict]:
    """Our loop's training throughput with each encoder implementation, side by side: same
    data, seed and settings (bf16 autocast where the CPU has native bf16, as a run uses it),
    each run in its own process, the implementations alternating; examples per CPU second
    (and per wall second in the details), the ratio each one's over the first's."""
    rows = []
    for max_length in max_lengths:
        train, dev, name = data(n_train, n_dev, max_length)
        s = Settings(epochs=1, batch_size=16, lr=5e-5, seed=1, patience=1)
        runs: dict[str, list[dict]] = {k: [] for k in impls}
        for _ in range(repeats):
            for k in impls:
                runs[k].append(isolated(threads, in_our_loop, train, dev, s, k))
        cpu = {k: median(r["cpu_seconds"] for r in v) for k, v in runs.items()}
        case = (f"{name}, {ENCODER}, {len(train)} train posts, len<={max_length}, "
                f"bs {s.batch_size}, {threads} thread(s), bf16 autocast "
                f"{runs[impls[0]][0]['bf16']}, our loop")
        for k in impls:
            rows.append(row("encoder implementations", case, f"{k}: examples per CPU second",
                            len(train) / cpu[k], "ex/s", ratio=cpu[impls[0]] / cpu[k],
                            cpu_seconds=[round(r["cpu_seconds"], 2) for r in runs[k]],
                            wall_seconds=[round(r["seconds"], 2) for r in runs[k]]))
    return rows


def measure(repeats: int = 3, n_train: int = 256, n_dev: int = 256,
            max_lengths: tuple[int, ...] = (512, 128), epochs: int = 1,
            threads: int = 2) -> list[dict]:
    """At the paper config's maximum length (512) and the default config's (128)."""
    torch.set_num_threads(threads)
    rows = []
    for max_length in max_lengths:
        train, dev, name = data(n_train, n_dev, max_length)
        s = Settings(epochs=epochs, batch_size=16, lr=5e-5, seed=1, patience=epochs,
                     cpu_bf16=False)  # the peer trains in fp32 on the CPU: so do we
        systems = {"ours": (ours, ()), "transformers.Trainer": (standard, ()),
                   "transformers.Trainer, group_by_length": (standard, ("group_by_length",)),
                   STACK: (standard, ("random", "transformers"))}
        runs: dict[str, list[dict]] = {k: [] for k in systems}
        for _ in range(repeats):  # interleaved, so drift of the machine hits all alike
            for k, (f, extra) in systems.items():
                runs[k].append(isolated(threads, f, train, dev, s, *extra))
        t = {k: median(r["seconds"] for r in v) for k, v in runs.items()}
        peak = peak_gflops(threads)
        limit = peak * 1e9 / (train_flops(encoders.load_encoder(ENCODER), train.lengths)
                              / len(train))  # examples/s at the measured matmul peak
        case = (f"{name}, {ENCODER}, {len(train)} train posts, len<={max_length}, "
                f"bs {s.batch_size}, {epochs} epoch, {threads} threads, {pick_device('auto')}")
        lead = LEAD.get(max_length)
        for k, v in runs.items():
            mine, ratio = k == "ours", t[STACK] / t[k]
            rows.append(row(
                "training throughput", case, f"{k}: examples/s", len(train) * epochs / t[k],
                "ex/s", ratio=ratio, goal=f">= {lead}x {STACK}" if mine and lead else None,
                met=ratio >= lead if mine and lead else None,
                real_tokens_per_s=int(train.lengths.sum()) * epochs / t[k],
                fraction_of_limit=len(train) * epochs / t[k] / limit,
                dev_f1_median=median(r["f1"] for r in v),
                **({"vs_same_module": t["transformers.Trainer"] / t[k]} if mine else {}),
                seconds=[round(r["seconds"], 2) for r in v]))
        rows.append(row("training throughput", case, "where a step's time goes (shares)",
                        1.0, "share", **{k: round(v, 3) for k, v in
                                         isolated(threads, where_time_goes, train,
                                                  s).items()}))
        rows.append(row("training throughput", case, "physical limit: measured fp32 matmul "
                        "peak / encoder FLOPs per example", limit, "ex/s",
                        peak_gflops_fp32=peak, peak_gflops_bf16=peak_gflops(threads,
                                                                           torch.bfloat16)))
    return rows + encoder_paths(repeats)
