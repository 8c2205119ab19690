"""Our training step against `transformers.Trainer` on one model, batch, length and precision:
examples/s, tokens/s and model FLOPs utilisation (MFU) against the card's dense bf16 peak.

Both train the same module: a multi-head model (`psymtl.models`) on `transformers`' BertModel
(random weights, random tokens of one length: throughput only), ours through
`psymtl.trainer.fit`, the peer through `Trainer` with its fused AdamW. Each is timed by wall
clock at two numbers of steps, after a warm-up run; the difference over the difference in
steps is a step's time without the fixed costs (building the optimizer or the `Trainer`, the
one dev batch `fit` scores). The precision is the one `fit` picks on the device (bf16 where
it is native, else fp16 with a gradient scaler), given to `Trainer` too.

    python -m benchmarks.gpu [--device auto|cuda|cpu] [--out FILE]

``--device cpu`` is a smoke run (a two-layer BERT, a few steps, fp32) that checks the
benchmark works where there is no GPU; the suite (`python -m benchmarks`) measures on CUDA
only and otherwise records that no GPU was there.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from benchmarks.common import machine, row
from psymtl import datasets, models, weighting
from psymtl.trainer import Settings, Split, fit, precision

BENCHMARK = "GPU training step: ours vs transformers.Trainer"
TASK = datasets.tasks({"dreaddit": {}})["stress"]

# dense bf16 tensor-core peaks (FLOP/s, no sparsity) from the vendors' data sheets, matched
# in this order against the device name (the more specific names first)
PEAK_BF16 = (("H100 PCIe", 756e12), ("H100 NVL", 835e12), ("H100", 989e12), ("H200", 989e12),
             ("A100", 312e12), ("L40S", 362e12), ("L4", 121e12), ("A10", 125e12))


def peak(name: str) -> float | None:
    """The dense bf16 peak of the device called ``name``; None where the table has none."""
    return next((v for k, v in PEAK_BF16 if k in name), None)


@dataclass
class Shape:
    """The model and batch a benchmark run trains."""

    layers: int
    hidden: int
    heads: int
    vocab: int
    batch: int
    seq: int
    steps: tuple[int, int]  # the two run lengths; their difference is timed

    def config(self):
        from transformers import BertConfig

        return BertConfig(vocab_size=self.vocab, hidden_size=self.hidden,
                          num_hidden_layers=self.layers, num_attention_heads=self.heads,
                          intermediate_size=4 * self.hidden,
                          max_position_embeddings=max(512, self.seq))


BERT_BASE = Shape(layers=12, hidden=768, heads=12, vocab=30522, batch=32, seq=128,
                  steps=(10, 40))
SMOKE = Shape(layers=2, hidden=64, heads=4, vocab=1000, batch=4, seq=32, steps=(2, 5))


def flops_per_token(shape: Shape, enc: nn.Module) -> float:
    """Forward + backward FLOPs per token: 6 x the non-embedding parameters, plus attention's
    scores and weighted values (4 x seq x hidden per layer forward, x3 with backward)."""
    n = sum(p.numel() for name, p in enc.named_parameters() if "embeddings" not in name)
    return 6 * n + 12 * shape.layers * shape.hidden * shape.seq


def build(shape: Shape, seed: int = 1) -> models.TaskModel:
    from transformers import BertModel

    torch.manual_seed(seed)
    return models.build("multihead", BertModel(shape.config(), add_pooling_layer=False), [TASK])


def split(shape: Shape, n: int, seed: int) -> Split:
    """``n`` posts of random tokens, each ``seq`` long with its two special tokens."""
    rng = np.random.default_rng(seed)
    ids = [rng.integers(5, shape.vocab, shape.seq - 2) for _ in range(n)]
    keys = pd.DataFrame({"id": [f"p{i}" for i in range(n)], "split": "train",
                         "dataset": TASK.dataset})
    return Split(keys=keys, ids=ids, layout={"prefix": [1], "suffix": [2], "pad_id": 0},
                 targets={TASK.name: rng.integers(0, 2, n)},
                 present={TASK.name: np.ones(n, dtype=bool)})


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def ours(shape: Shape, steps: int, device: torch.device) -> float:
    """Seconds of `psymtl.trainer.fit` for ``steps`` steps (one epoch) and one dev batch."""
    model = build(shape)
    s = Settings(epochs=1, batch_size=shape.batch, eval_batch_size=shape.batch, lr=5e-5,
                 warmup_ratio=0.0, seed=1, patience=1, device=device.type, cpu_bf16=False)
    train, dev = split(shape, steps * shape.batch, 1), split(shape, shape.batch, 2)
    comb = weighting.build({"kind": "fixed"}, [TASK])
    with tempfile.TemporaryDirectory() as tmp:
        _sync(device)
        t0 = time.perf_counter()
        fit(model, comb, [TASK], train, dev, s, lambda pred: 0.0, tmp,
            checkpoint_every_s=math.inf)
        _sync(device)
        return time.perf_counter() - t0


class _Adapter(nn.Module):
    """The same model with the forward `transformers.Trainer` calls."""

    def __init__(self, m: models.TaskModel):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask, labels):
        logits = self.m(input_ids=input_ids, attention_mask=attention_mask)[TASK.name]
        return {"loss": nn.functional.cross_entropy(logits.float(), labels)}


def peer(shape: Shape, steps: int, device: torch.device, prec: str) -> float:
    """Seconds of `transformers.Trainer` (built and run) for ``steps`` steps."""
    from transformers import Trainer, TrainingArguments, default_data_collator

    model = _Adapter(build(shape))
    data = split(shape, steps * shape.batch, 1)
    rows = [{"input_ids": torch.as_tensor([*data.layout["prefix"], *ids, *data.layout["suffix"]]),
             "attention_mask": torch.ones(shape.seq, dtype=torch.long), "labels": int(y)}
            for ids, y in zip(data.ids, data.targets[TASK.name], strict=True)]
    cuda = device.type == "cuda"
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(
            output_dir=tmp, per_device_train_batch_size=shape.batch, max_steps=steps,
            learning_rate=5e-5, weight_decay=0.01, max_grad_norm=1.0, seed=1, use_cpu=not cuda,
            bf16=prec == "bf16", fp16=prec == "fp16",
            optim="adamw_torch_fused" if cuda else "adamw_torch", save_strategy="no",
            eval_strategy="no", logging_strategy="no", report_to="none", disable_tqdm=True,
            dataloader_num_workers=0, remove_unused_columns=False)
        _sync(device)
        t0 = time.perf_counter()
        Trainer(model=model, args=args, train_dataset=rows,
                data_collator=default_data_collator).train()
        _sync(device)
        return time.perf_counter() - t0


def step_seconds(run, steps: tuple[int, int]) -> float:
    """A step's seconds: (time of the long run - time of the short) / (their step difference),
    after a warm-up run of the short length."""
    run(steps[0])
    short, long = run(steps[0]), run(steps[1])
    return max(long - short, 1e-9) / (steps[1] - steps[0])


def measure(device: str = "auto") -> list[dict]:
    """The benchmark's rows: on CUDA (``auto`` where one is visible) BERT-base at 32 x 128
    tokens; on the CPU the smoke shape; ``auto`` without CUDA: a row saying so."""
    if device == "auto":
        if not torch.cuda.is_available():
            return [row(BENCHMARK, "no CUDA device on this machine", "not measured",
                        float("nan"), "")]
        device = "cuda"
    dev = torch.device(device)
    shape = BERT_BASE if dev.type == "cuda" else SMOKE
    prec = precision(dev, Settings(cpu_bf16=False))  # fit's choice on this device
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU (smoke run)"
    p = peak(name) if dev.type == "cuda" else None
    per_token = flops_per_token(shape, build(shape).encoder)
    seconds = {"Trainer": step_seconds(lambda n: peer(shape, n, dev, prec), shape.steps),
               "ours": step_seconds(lambda n: ours(shape, n, dev), shape.steps)}
    case = (f"{name}, BERT {shape.layers} layers x {shape.hidden}, batch {shape.batch} x "
            f"{shape.seq} tokens, {prec}")
    out = []
    for system, sec in seconds.items():
        ratio = seconds["Trainer"] / sec if system == "ours" else None
        tokens = shape.batch * shape.seq / sec
        details = {"system": system, "seconds_per_step": sec, "precision": prec,
                   "peak_bf16_flops": p, "flops_per_token": per_token}
        out += [row(BENCHMARK, case, f"{system}: examples/s", shape.batch / sec, "ex/s",
                    ratio=ratio, **details),
                row(BENCHMARK, case, f"{system}: tokens/s", tokens, "tok/s", ratio=ratio,
                    **details),
                row(BENCHMARK, case, f"{system}: model FLOPs utilisation",
                    tokens * per_token / p if p else float("nan"), "fraction of bf16 peak",
                    **details)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    ap.add_argument("--out", help="write the rows (and the machine) as JSON here")
    args = ap.parse_args()
    rows = measure(args.device)
    for r in rows:
        print(f"{r['case']} | {r['measure']}: {r['value']:.4g} {r['unit']}"
              + (f" (x{r['ratio']:.2f} the Trainer)" if r["ratio"] else ""))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"machine": machine(), "rows": rows}, f, indent=1, default=float)


if __name__ == "__main__":
    main()
