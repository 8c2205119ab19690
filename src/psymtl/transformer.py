"""BERT and ALBERT encoders in plain PyTorch that read and write Hugging Face checkpoints:
the opt-in CPU encoder path (``training.encoder_impl: psymtl``; docs/encoders.md).

The same computation as ``transformers``' ``BertModel`` / ``AlbertModel`` (absolute positions,
one segment, scaled-dot-product attention; tested equal to them; in training on the CPU the
dropout masks come from a :class:`psymtl.dropout.MaskGenerator` the encoder owns, seeded when
it is built, its state in the encoder's ``state_dict``), with the same parameter names, so a
folder this module writes loads with ``AutoModel.from_pretrained`` and the other way round.
In our training loop on the CPU it is ahead of ``transformers``' BertModel (docs/encoders.md
has the measured ratio); it runs on the CPU only. The pooler's weights are kept for the
checkpoint but never computed.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from psymtl.dropout import Dropout, MaskGenerator, softmax_dropout

ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu, "silu": F.silu, "swish": F.silu,
               "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
               "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh")}
# the configuration classes' defaults, for keys a config.json leaves out
DEFAULTS = {
    "bert": dict(hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                 max_position_embeddings=512, type_vocab_size=2, initializer_range=0.02,
                 layer_norm_eps=1e-12, pad_token_id=0),
    "albert": dict(hidden_act="gelu_new", hidden_dropout_prob=0.0,
                   attention_probs_dropout_prob=0.0, max_position_embeddings=512,
                   type_vocab_size=2, initializer_range=0.02, layer_norm_eps=1e-12,
                   pad_token_id=0, embedding_size=128, num_hidden_groups=1, inner_group_num=1),
}
WEIGHTS = ("model.safetensors", "pytorch_model.bin")
SHARDED = ("model.safetensors.index.json", "pytorch_model.bin.index.json")


def supports(config: dict[str, Any]) -> bool:
    """Whether a ``config.json`` describes an encoder this module computes exactly."""
    return (config.get("model_type") in DEFAULTS
            and config.get("position_embedding_type", "absolute") == "absolute"
            and not config.get("is_decoder") and not config.get("add_cross_attention")
            and config.get("hidden_act", DEFAULTS[config["model_type"]]["hidden_act"])
            in ACTIVATIONS)


def additive_mask(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """[B, L] 0/1 mask -> [B, 1, 1, L] additive attention mask for a transformer layer."""
    ext = torch.zeros(mask.shape[0], 1, 1, mask.shape[1], dtype=dtype, device=mask.device)
    return ext.masked_fill(mask[:, None, None, :] == 0, torch.finfo(dtype).min)


class SelfAttention(nn.Module):
    """Multi-head self-attention: projections ``query``, ``key``, ``value``."""

    def __init__(self, c: SimpleNamespace, masks: MaskGenerator):
        super().__init__()
        self.heads = c.num_attention_heads
        self.dropout = Dropout(c.attention_probs_dropout_prob, masks)  # its p, in attention
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = (f(x).view(b, n, self.heads, -1).transpose(1, 2)
                   for f in (self.query, self.key, self.value))
        if self.training and self.dropout.p > 0 and x.device.type == "cpu":
            # PyTorch's fused CPU attention has no dropout, so SDPA would take its reference
            # path, whose "safe" softmax adds three passes over the scores (isneginf, all,
            # where) for rows with every key masked; an encoder always sees its first token
            scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-1, -2)
            if mask is not None:
                scores = scores.add_(mask)
            probs, scale = softmax_dropout(scores, self.dropout.p, True, self.dropout.masks)
            a = probs @ (v * scale)
        else:
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                               dropout_p=self.dropout.p if self.training else 0)
        return a.transpose(1, 2).reshape(b, n, d)


class AddNorm(nn.Module):
    """``dense`` -> dropout -> ``LayerNorm`` of the sum with the residual (BERT's outputs)."""

    def __init__(self, d_in: int, c: SimpleNamespace, masks: MaskGenerator):
        super().__init__()
        self.dense = nn.Linear(d_in, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = Dropout(c.hidden_dropout_prob, masks)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(residual + self.dropout(self.dense(x)))


class BertLayer(nn.Module):
    """``attention.self``, ``attention.output``, ``intermediate.dense``, ``output``."""

    def __init__(self, c: SimpleNamespace, masks: MaskGenerator):
        super().__init__()
        self.attention = nn.Module()
        self.attention.self = SelfAttention(c, masks)
        self.attention.output = AddNorm(c.hidden_size, c, masks)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(c.hidden_size, c.intermediate_size)
        self.output = AddNorm(c.intermediate_size, c, masks)
        self.act = ACTIVATIONS[c.hidden_act]

    def forward(self, x: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        a = self.attention.output(self.attention.self(x, attention_mask), x)
        return self.output(self.act(self.intermediate.dense(a)), a)


class AlbertLayer(nn.Module):
    """ALBERT's layer: ``attention`` (``query``, ``key``, ``value``, ``dense``, ``LayerNorm``),
    ``ffn``, ``ffn_output``, ``full_layer_layer_norm``."""

    def __init__(self, c: SimpleNamespace, masks: MaskGenerator):
        super().__init__()
        self.attention = SelfAttention(c, masks)
        self.attention.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.attention.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.ffn = nn.Linear(c.hidden_size, c.intermediate_size)
        self.ffn_output = nn.Linear(c.intermediate_size, c.hidden_size)
        self.full_layer_layer_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.act, self.dropout = ACTIVATIONS[c.hidden_act], Dropout(c.hidden_dropout_prob, masks)

    def forward(self, x: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        at = self.attention
        a = at.LayerNorm(x + self.dropout(at.dense(at(x, attention_mask))))
        # no dropout after the feed-forward: ``transformers``' AlbertLayer applies none there
        return self.full_layer_layer_norm(self.ffn_output(self.act(self.ffn(a))) + a)


def _embedding(rows: int, dim: int, padding_idx: int | None = None) -> nn.Embedding:
    """An embedding left uninitialised (``load`` or ``_init`` sets it): ``nn.Embedding``'s own
    normal initialisation, run on the meta device, imports ``torch._dynamo`` (~0.9 s)."""
    return nn.Embedding.from_pretrained(torch.empty(rows, dim), freeze=False,
                                        padding_idx=padding_idx)


class Embeddings(nn.Module):
    def __init__(self, c: SimpleNamespace, d: int, masks: MaskGenerator):
        super().__init__()
        self.word_embeddings = _embedding(c.vocab_size, d, padding_idx=c.pad_token_id)
        self.position_embeddings = _embedding(c.max_position_embeddings, d)
        self.token_type_embeddings = _embedding(c.type_vocab_size, d)
        self.LayerNorm = nn.LayerNorm(d, eps=c.layer_norm_eps)
        self.dropout = Dropout(c.hidden_dropout_prob, masks)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None
                ) -> torch.Tensor:
        n = input_ids.shape[1]
        segment = (self.token_type_embeddings.weight[0] if token_type_ids is None
                   else self.token_type_embeddings(token_type_ids))
        x = self.word_embeddings(input_ids) + segment + self.position_embeddings.weight[:n]
        return self.dropout(self.LayerNorm(x))


class Encoder(nn.Module):
    """A BERT or ALBERT encoder; ``forward`` returns an object with ``last_hidden_state``.
    ``seed`` seeds its dropout masks' generator, whose state is its ``state_dict``'s
    ``_extra_state``."""

    def __init__(self, config: dict[str, Any], seed: int = 0):
        super().__init__()
        if not supports(config):
            raise ValueError(f"not a BERT/ALBERT encoder this module computes: {config}")
        kind = config["model_type"]
        self.config_dict = DEFAULTS[kind] | config
        self.config = c = SimpleNamespace(**self.config_dict)
        self.masks = m = MaskGenerator(seed)
        self.encoder = nn.Module()
        if kind == "bert":
            self.embeddings = Embeddings(c, c.hidden_size, m)
            self.encoder.layer = nn.ModuleList(BertLayer(c, m)
                                               for _ in range(c.num_hidden_layers))
            self.pooler = nn.Module()
            self.pooler.dense = nn.Linear(c.hidden_size, c.hidden_size)
        else:
            self.embeddings = Embeddings(c, c.embedding_size, m)
            self.encoder.embedding_hidden_mapping_in = nn.Linear(c.embedding_size, c.hidden_size)
            self.encoder.albert_layer_groups = nn.ModuleList()
            for _ in range(c.num_hidden_groups):
                group = nn.Module()
                group.albert_layers = nn.ModuleList(AlbertLayer(c, m)
                                                    for _ in range(c.inner_group_num))
                self.encoder.albert_layer_groups.append(group)
            self.pooler = nn.Linear(c.hidden_size, c.hidden_size)
        self.pooler.requires_grad_(False)  # never computed: kept so checkpoints stay whole

    def get_extra_state(self) -> torch.Tensor:
        return self.masks.state()

    def set_extra_state(self, state: torch.Tensor) -> None:
        self.masks.set_state(state)

    def layers(self) -> list[nn.Module]:
        """The layers in the order they run (ALBERT's shared layers repeated)."""
        if self.config.model_type == "bert":
            return list(self.encoder.layer)
        c, groups = self.config, self.encoder.albert_layer_groups
        return [layer for i in range(c.num_hidden_layers)
                for layer in groups[int(i / (c.num_hidden_layers / c.num_hidden_groups))]
                .albert_layers]

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None) -> SimpleNamespace:
        if input_ids.device.type != "cpu":
            raise RuntimeError("encoder_impl psymtl computes on the CPU only; on "
                               f"{input_ids.device.type} use encoder_impl transformers")
        x = self.embeddings(input_ids, token_type_ids)
        if self.config.model_type == "albert":
            x = self.encoder.embedding_hidden_mapping_in(x)
        mask = None if attention_mask is None else additive_mask(attention_mask, x.dtype)
        for layer in self.layers():
            x = layer(x, mask)
        return SimpleNamespace(last_hidden_state=x)

    def save_pretrained(self, folder: str | Path) -> None:
        """``config.json`` and ``model.safetensors``, loadable by ``AutoModel``."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arch = {"bert": "BertModel", "albert": "AlbertModel"}[self.config.model_type]
        (folder / "config.json").write_text(json.dumps(
            self.config_dict | {"architectures": [arch]}, indent=2, sort_keys=True))
        save_file({k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()
                   if k != "_extra_state"},  # the masks' generator: a run's, not the model's
                  folder / "model.safetensors", metadata={"format": "pt"})


def read_config(folder: str | Path) -> dict[str, Any]:
    return json.loads((Path(folder) / "config.json").read_text())


def load(folder: str | Path, seed: int = 0) -> Encoder:
    """The encoder saved in ``folder`` (a base model, or the base of a ``*ForMaskedLM`` /
    ``*ForPreTraining`` checkpoint; old ``gamma``/``beta`` names are read too; one file or
    shards; stored in any float dtype, loaded in fp32), its masks seeded with ``seed``."""
    folder = Path(folder)
    model = _empty(read_config(folder), seed)
    _init(model.pooler, model.config.initializer_range)  # masked-LM checkpoints have none
    state = _read_weights(folder)
    prefix = model.config.model_type + "."
    state = {_modern(k.removeprefix(prefix)): v for k, v in state.items()}
    own = model.state_dict()
    missing = [k for k in own if k not in state and not k.startswith("pooler")
               and k != "_extra_state"]
    if missing:
        raise ValueError(f"{folder}: the checkpoint lacks {len(missing)} of the encoder's "
                         f"weights, e.g. {missing[:3]}")
    model.load_state_dict({k: state.get(k, v) for k, v in own.items()})
    return model


def from_module(hf_model: nn.Module, seed: int = 0) -> Encoder:
    """The same encoder as a ``transformers`` BertModel/AlbertModel (its weights copied)."""
    model = _empty(hf_model.config.to_dict(), seed)
    state = hf_model.state_dict()
    model.load_state_dict({k: state.get(k, v) for k, v in model.state_dict().items()})
    return model


def random(config: dict[str, Any], seed: int) -> Encoder:
    """A seeded randomly initialised encoder (its masks seeded with ``seed`` too)."""
    model = _empty(config, seed)
    _init(model, model.config.initializer_range, torch.Generator().manual_seed(seed))
    return model


def _empty(config: dict[str, Any], seed: int = 0) -> Encoder:
    """An encoder with uninitialised weights (built on the meta device: no time spent on a
    random initialisation that loaded weights would overwrite). Each tensor is then made by
    ``torch.empty``: ``Module.to_empty``'s ``empty_like`` of a meta tensor imports sympy
    (about 0.5 s a process)."""
    with torch.device("meta"):
        model = Encoder(config, seed)
    for module in model.modules():
        for name, p in list(module.named_parameters(recurse=False)):
            setattr(module, name, nn.Parameter(torch.empty(p.shape, dtype=p.dtype),
                                               requires_grad=p.requires_grad))
    return model  # (the encoder has no buffers)


def _init(module: nn.Module, std: float, generator: torch.Generator | None = None) -> None:
    """``transformers``' initialisation: normal(0, std) weights, zero biases and padding row,
    unit LayerNorms."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Linear | nn.Embedding):
                m.weight.normal_(0.0, std, generator=generator)
            if isinstance(m, nn.Linear) and m.bias is not None:
                m.bias.zero_()
            if isinstance(m, nn.Embedding) and m.padding_idx is not None:
                m.weight[m.padding_idx].zero_()
            if isinstance(m, nn.LayerNorm):
                m.weight.fill_(1.0)
                m.bias.zero_()


def _modern(key: str) -> str:
    return key.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta",
                                                                       "LayerNorm.bias")


def _read_weights(folder: Path) -> dict[str, torch.Tensor]:
    for name in SHARDED:
        index = folder / name
        if index.is_file():
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
            return {k: v for shard in shards for k, v in _read_file(folder / shard).items()}
    for name in WEIGHTS:
        if (folder / name).is_file():
            return _read_file(folder / name)
    raise FileNotFoundError(f"{folder}: no {' or '.join(WEIGHTS + SHARDED)}")


def _read_file(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(path)
    return torch.load(path, map_location="cpu", weights_only=True)
