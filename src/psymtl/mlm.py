"""Masked-LM domain adaptation of a pretrained encoder on unlabeled in-domain text.

Mask probability 0.15 (BERT's 80/10/10 replacement), AdamW, cosine schedule with warm-up,
length-grouped dynamic-padding batches, seeded. The prediction head (vocabulary projection)
runs at the masked positions only: the loss is the same as over every position with the
others ignored, at a fraction of the compute and memory. The adapted encoder and its
tokenizer are saved with ``save_pretrained`` so downstream jobs load them like any local
encoder.

A checkpoint without a trained masked-LM head (the packaged MiniLM is a sentence encoder)
starts from a freshly initialised head transform on top of the embedding-tied decoder: its
first loss is then above ln(vocabulary size), and the head is learned during adaptation.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from transformers import DataCollatorForLanguageModeling

from psymtl import batching, encoders, machine, tokens
from psymtl.io import write_json
from psymtl.logs import progress
from psymtl.optim import adamw, lr_schedule
from psymtl.trainer import pick_device, seed_everything

log = logging.getLogger(__name__)


def read_corpus(path: str | Path) -> list[str]:
    """Texts from a .txt (one per line), .csv or .parquet (column ``text``) file."""
    path = Path(path)
    if path.suffix == ".txt":
        return [t for t in path.read_text(encoding="utf-8").splitlines() if t.strip()]
    df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    if "text" not in df:
        raise ValueError(f"{path}: corpus needs a 'text' column; found {list(df.columns)}")
    return [t for t in df["text"].dropna().astype(str) if t.strip()]


def prediction_head(model: torch.nn.Module) -> torch.nn.Module | None:
    """The module mapping hidden states to vocabulary logits (BERT ``cls``, ALBERT
    ``predictions``, RoBERTa ``lm_head``): the one child besides the base model; None when
    the head is spread over several modules."""
    heads = [m for _, m in model.named_children() if m is not model.base_model
             and any(p.requires_grad for p in m.parameters())]
    return heads[0] if len(heads) == 1 else None


def masked_lm_loss(model: torch.nn.Module, head: torch.nn.Module | None,
                   input_ids: torch.Tensor, attention_mask: torch.Tensor,
                   labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy at the masked positions (``labels != -100``); with ``head`` the
    vocabulary projection is computed there only. Equal to ``model(..., labels=...).loss``."""
    if head is None:
        return model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
    hidden = model.base_model(input_ids=input_ids, attention_mask=attention_mask)[0]
    at = labels != -100
    logits = head(hidden[at])
    return torch.nn.functional.cross_entropy(logits.float(), labels[at])


def adapt(texts: list[str], encoder: str, out_dir: str | Path, *, epochs: int, lr: float,
          batch_size: int, mask_prob: float, warmup_ratio: float, max_length: int, seed: int,
          device: str = "auto", threads: int = 1, masked_only: bool = True,
          attn_implementation: str = "sdpa") -> dict:
    """Adapt ``encoder`` to ``texts``; save it (and its tokenizer) in ``out_dir``.
    ``masked_only=False`` projects every position onto the vocabulary (the same loss at
    more cost; for the benchmark). The model loads as training loads its encoder
    (:func:`psymtl.encoders.load_masked_lm`: fp32, ``attn_implementation``)."""
    torch.set_num_threads(threads)
    seed_everything(seed)
    machine.keep_freed_memory()
    dev = pick_device(device)
    tok = encoders.load_tokenizer(encoder)
    model = encoders.load_masked_lm(encoder, seed, attn_implementation).to(dev)
    head = prediction_head(model) if masked_only else None
    ids, _ = tokens.tokenize_texts(texts, tok, max_length)
    layout = tokens.special_layout(tok)
    lengths = np.array([len(x) + len(layout["prefix"]) + len(layout["suffix"]) for x in ids])
    collator = DataCollatorForLanguageModeling(tok, mlm_probability=mask_prob,
                                               return_tensors="pt")
    steps = epochs * math.ceil(len(ids) / batch_size)
    optim = adamw([{"params": model.parameters()}], lr=lr, weight_decay=0.01)
    sched = lr_schedule(optim, "cosine", math.ceil(warmup_ratio * steps), steps)
    history, t0 = [], time.perf_counter()
    model.train()
    for epoch in range(epochs):
        batches = batching.train_batches(lengths, np.zeros(len(ids)), batch_size, seed, epoch)
        for idx in progress(batches, f"mlm epoch {epoch + 1}/{epochs}", unit="batch"):
            b = batching.collate([ids[i] for i in idx], layout["prefix"], layout["suffix"],
                                 layout["pad_id"])
            masked = collator.torch_call([{"input_ids": row[m.bool()]}
                                          for row, m in zip(b["input_ids"], b["attention_mask"],
                                                            strict=True)])
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev.type == "cuda"):
                loss = masked_lm_loss(model, head, masked["input_ids"].to(dev),
                                      masked["attention_mask"].to(dev),
                                      masked["labels"].to(dev))
            optim.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optim.step()
            sched.step()
            history.append(float(loss.detach()))
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    summary = {"texts": len(texts), "steps": len(history), "seconds": time.perf_counter() - t0,
               "first_loss": history[0] if history else None,
               "last_loss": float(np.mean(history[-10:])) if history else None}
    summary["texts_per_s"] = len(texts) * epochs / max(summary["seconds"], 1e-9)
    log.info("MLM adaptation: %s", summary)
    write_json(summary | {"losses": history}, out_dir / "mlm_summary.json")
    return summary
