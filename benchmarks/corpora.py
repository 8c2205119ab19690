"""The corpora the benchmarks run on: the embedded demo (synthetic, default config sizes) and
the real public datasets where a copy is present (PSYMTL_SHARED_DATA, else ../shared/data)."""

from __future__ import annotations

import os
import tempfile
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from psymtl import datasets, encoders, sources, tokens

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PSYMTL_SHARED_DATA", ROOT.parent / "shared" / "data"))
REAL_FOLDERS = {"dreaddit": "dreaddit", "pirina": "depression-pirina",
                "fig_loneliness": "fig-loneliness"}


@cache
def demo(dataset: str) -> pd.DataFrame:
    """Canonical rows of the default config's synthetic ``dataset``."""
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())["datasets"][dataset]
    columns = (ROOT / "resources" / "dreaddit_columns.txt").read_text().split()
    with tempfile.TemporaryDirectory() as tmp:
        sources.fetch(dataset, {"kind": "synthetic", **cfg["synthetic"]}, tmp, columns)
        df, _ = datasets.ingest(dataset, tmp)
    return df


@cache
def real(dataset: str) -> pd.DataFrame | None:
    """Canonical rows of the real ``dataset``, or None where no copy is present."""
    folder = SHARED / REAL_FOLDERS[dataset]
    if not folder.is_dir():
        return None
    return datasets.ingest(dataset, folder)[0]


def corpora() -> dict[str, pd.DataFrame]:
    """name -> canonical rows, demo first, then every real dataset that is present."""
    out = {f"demo/{d}": demo(d) for d in ("cancer", "dreaddit", "pirina", "fig_loneliness")}
    for d in REAL_FOLDERS:
        df = real(d)
        if df is not None:
            out[f"real/{d}"] = df
    return out


@cache
def tokenizer(spec: str = "minilm"):
    return encoders.load_tokenizer(spec)


def token_ids(texts: list[str], max_length: int, spec: str = "minilm"
              ) -> tuple[list[np.ndarray], dict]:
    """Content ids (truncated) and the special-token layout, as the workflow makes them."""
    tok = tokenizer(spec)
    ids, _ = tokens.tokenize_texts(texts, tok, max_length)
    return ids, tokens.special_layout(tok)
