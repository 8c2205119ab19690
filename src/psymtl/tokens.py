"""Tokenise a dataset once per tokenizer; batches add special tokens and padding later."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm


def special_layout(tokenizer) -> dict[str, Any]:
    """Token ids that go before / after the content, and the padding id."""
    full = tokenizer("a", add_special_tokens=True)["input_ids"]
    bare = tokenizer("a", add_special_tokens=False)["input_ids"]
    at = next(i for i in range(len(full)) if full[i:i + len(bare)] == bare)
    return {"prefix": [int(x) for x in full[:at]],
            "suffix": [int(x) for x in full[at + len(bare):]],
            "pad_id": int(tokenizer.pad_token_id)}


def tokenize_texts(texts: list[str], tokenizer, max_length: int,
                   chunk: int = 1024) -> tuple[list[np.ndarray], np.ndarray]:
    """Content ids truncated to fit ``max_length`` with specials; also the untruncated lengths."""
    layout = special_layout(tokenizer)
    budget = max_length - len(layout["prefix"]) - len(layout["suffix"])
    ids, lengths = [], []
    for i in tqdm(range(0, len(texts), chunk), desc="tokenise", unit="chunk",
                  disable=len(texts) <= chunk):
        enc = tokenizer(texts[i:i + chunk], add_special_tokens=False, truncation=False,
                        verbose=False)["input_ids"]
        for e in enc:
            lengths.append(len(e))
            ids.append(np.asarray(e[:budget], dtype=np.int32))
    return ids, np.asarray(lengths, dtype=np.int64)


def tokenize_frame(df: pd.DataFrame, tokenizer, max_length: int) -> tuple[pd.DataFrame, dict]:
    ids, lengths = tokenize_texts(df["text"].tolist(), tokenizer, max_length)
    layout = special_layout(tokenizer)
    budget = max_length - len(layout["prefix"]) - len(layout["suffix"])
    out = pd.DataFrame({"id": df["id"].to_numpy(), "ids": ids, "n_tokens": lengths})
    info = layout | {
        "max_length": max_length, "rows": len(df),
        "truncated": int((lengths > budget).sum()),
        "median_tokens": float(np.median(lengths)) if len(lengths) else 0.0,
    }
    return out, info
