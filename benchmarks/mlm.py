"""Masked-LM adaptation throughput and memory: ours (vocabulary projection at the masked
positions only) vs the same loop with the projection at every position (the previous
code's computation) vs `transformers`' own `DataCollatorForLanguageModeling` + `Trainer`, on
the real FIG-Loneliness training posts (the demo corpus where the real one is absent), the
packaged MiniLM, max length 128, batch 16, one thread (as beside one training job). Each run
is its own process, so its peak memory is its own."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time

from benchmarks import corpora
from benchmarks.common import ROOT, median, row

SYSTEMS = ("ours", "full projection", "transformers.Trainer")
SETTINGS = {"epochs": 1, "lr": 5e-5, "batch_size": 16, "mask_prob": 0.15, "warmup_ratio": 0.1,
            "max_length": 128, "seed": 1}


def texts(n: int) -> tuple[list[str], str]:
    df = corpora.real("fig_loneliness")
    name = "real/fig_loneliness train"
    if df is None:
        df, name = corpora.demo("fig_loneliness"), "demo/fig_loneliness train"
    return df.loc[df["source_split"] == "train", "text"].tolist()[:n], name


def worker(system: str, n: int, threads: int) -> dict:
    """One run (in its own process): seconds of training and peak memory."""
    import torch

    from psymtl import mlm

    torch.set_num_threads(threads)
    data, _ = texts(n)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        if system == "transformers.Trainer":
            loss = _trainer(data, tmp)
        else:
            summary = mlm.adapt(data, "minilm", tmp, threads=threads,
                                masked_only=system == "ours", **SETTINGS)
            loss = summary["last_loss"]
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            / 2**20, "last_loss": loss}


def _trainer(data: list[str], out: str) -> float:
    from datasets import Dataset
    from transformers import AutoModelForMaskedLM, DataCollatorForLanguageModeling, Trainer

    from psymtl import encoders

    tok = encoders.load_tokenizer("minilm")
    ds = Dataset.from_dict({"text": data}).map(
        lambda b: tok(b["text"], truncation=True, max_length=SETTINGS["max_length"]),
        batched=True, remove_columns=["text"])
    model = AutoModelForMaskedLM.from_pretrained(encoders.resolve("minilm"))
    args = training_arguments(out)
    collator = DataCollatorForLanguageModeling(tok, mlm_probability=SETTINGS["mask_prob"])
    result = Trainer(model=model, args=args, train_dataset=ds, data_collator=collator).train()
    return float(result.training_loss)


def training_arguments(out: str):
    """The `Trainer` peer's arguments: our settings in its terms, no saving or logging."""
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=out, per_device_train_batch_size=SETTINGS["batch_size"],
        num_train_epochs=SETTINGS["epochs"], learning_rate=SETTINGS["lr"], weight_decay=0.01,
        warmup_steps=SETTINGS["warmup_ratio"], lr_scheduler_type="cosine", seed=SETTINGS["seed"],
        use_cpu=True, save_strategy="no", eval_strategy="no", logging_strategy="no",
        report_to="none", disable_tqdm=True, dataloader_num_workers=0)


def run(system: str, n: int, threads: int) -> dict:
    code = ("import json, sys; from benchmarks.mlm import worker; "
            f"print('RESULT', json.dumps(worker({system!r}, {n}, {threads})))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True)
    if proc.returncode:
        raise RuntimeError(f"masked-LM run ({system}) failed:\n{proc.stderr[-3000:]}")
    return json.loads(next(x for x in proc.stdout.splitlines() if x.startswith("RESULT"))[7:])


def measure(repeats: int = 3, n: int = 512, threads: int = 1) -> list[dict]:
    runs: dict[str, list[dict]] = {s: [] for s in SYSTEMS}
    for _ in range(repeats):  # interleaved: drift of the machine hits all alike
        for s in SYSTEMS:
            runs[s].append(run(s, n, threads))
    _, name = texts(n)
    case = (f"{name}, first {n} posts, minilm, len<=128, bs 16, 1 epoch, {threads} thread")
    peer = median(r["seconds"] for r in runs["transformers.Trainer"])
    full = median(r["seconds"] for r in runs["full projection"])
    rows = []
    for s, rs in runs.items():
        secs = median(r["seconds"] for r in rs)
        mine = s == "ours"
        rows.append(row("masked-LM adaptation", case, f"{s}: posts/s", n / secs, "posts/s",
                        ratio=peer / secs, goal=">= 1.5x the full projection" if mine else None,
                        met=full / secs >= 1.5 if mine else None,
                        vs_full_projection=full / secs,
                        peak_gib=median(r["peak_gib"] for r in rs),
                        last_loss=median(r["last_loss"] for r in rs),
                        seconds=[round(r["seconds"], 1) for r in rs]))
    return rows
