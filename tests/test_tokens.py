"""Tokenisation: extremely long posts are truncated to fit with the special tokens, and
counted; their full length is kept for the record."""

from __future__ import annotations

import numpy as np
import pandas as pd

from psymtl import encoders, tokens


def test_extremely_long_posts_are_truncated_and_counted():
    tok = encoders.load_tokenizer("tiny-bert")
    long_post = "word " * 50_000
    df = pd.DataFrame({"id": ["a", "b", "c"], "text": ["short post", long_post, long_post[:600]]})
    out, info = tokens.tokenize_frame(df, tok, max_length=64)
    budget = 64 - len(info["prefix"]) - len(info["suffix"])
    assert info["truncated"] == 2 and info["rows"] == 3
    assert [len(x) for x in out["ids"]] == [out["n_tokens"].iat[0], budget, budget]
    assert out["n_tokens"].iat[1] == 50_000  # the untruncated length, recorded
    assert np.array_equal(out["ids"].iat[1], out["ids"].iat[2])  # the post's beginning is kept
