"""The plain-PyTorch BERT/ALBERT encoders (`encoder_impl: psymtl`) compute what `transformers`
computes, read and write its checkpoints (fp16, sharded), own their dropout masks' generator,
and refuse what they do not compute."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModel

from psymtl import datasets, dropout, encoders, transformer

IDS = torch.randint(1000, 30000, (4, 21), generator=torch.Generator().manual_seed(0))
MASK = torch.ones(4, 21, dtype=torch.long)
MASK[1, 12:] = 0
MASK[3, 4:] = 0

TASKS = datasets.tasks({name: {} for name in ("dreaddit", "pirina")})


def pair(spec: str, tmp_path) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Ours and `transformers`' model of the same checkpoint."""
    if spec == "minilm":
        return (encoders.load_encoder(spec, impl="psymtl"),
                AutoModel.from_pretrained(encoders.packaged_path()))
    ours = encoders.load_encoder(spec, seed=3, impl="psymtl")
    ours.save_pretrained(tmp_path)
    theirs, info = AutoModel.from_pretrained(tmp_path, output_loading_info=True)
    assert not any(info.values()), info  # no missing, unexpected or mismatched weights
    return ours, theirs


def hidden(model: torch.nn.Module) -> torch.Tensor:
    return model(input_ids=IDS, attention_mask=MASK).last_hidden_state * MASK[..., None]


@pytest.mark.parametrize("spec", ["minilm", "tiny-bert", "tiny-albert"])
def test_same_outputs_and_gradients_as_transformers(spec, tmp_path):
    ours, theirs = pair(spec, tmp_path)
    assert type(ours) is transformer.Encoder
    ours.eval(), theirs.eval()
    a, b = hidden(ours), hidden(theirs)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    assert_same_gradients(ours, theirs, a, b)


def assert_same_gradients(ours, theirs, a: torch.Tensor, b: torch.Tensor) -> None:
    w = torch.randn(a.shape, generator=torch.Generator().manual_seed(1))
    (a * w).sum().backward()  # a fixed random direction: sum(a**2) would be flat after a norm
    (b * w).sum().backward()
    theirs_grads = {n: p.grad for n, p in theirs.named_parameters() if p.grad is not None}
    # equal up to rounding, relative to the gradient's scale; a gradient that is 0 in exact
    # arithmetic (the key bias: softmax ignores a constant per row) is rounding on both sides
    scale = max(float(g.abs().max()) for g in theirs_grads.values())
    for name, p in ours.named_parameters():
        if p.requires_grad:
            g = theirs_grads[name]
            assert (p.grad - g).abs().max() <= 1e-5 * g.abs().max() + 1e-6 * scale, name


@pytest.mark.parametrize("spec", ["minilm", "tiny-bert", "tiny-albert"])
def test_dropout_at_the_same_places_as_transformers(spec, tmp_path, monkeypatch):
    """With the masks drawn as torch's CPU dropout draws them (our masks come from
    `psymtl.dropout`'s own generator, tested there), the same outputs and gradients: the
    same dropouts, in the same order, at the same places."""
    monkeypatch.setattr(dropout.MaskGenerator, "keep_mask",
                        lambda self, shape, p, dtype=torch.bool:
                        torch.empty(shape).bernoulli_(1 - p).to(dtype))
    ours, theirs = pair(spec, tmp_path)
    if spec == "tiny-albert":  # ALBERT's default dropout is 0: switch it on in both
        for model in (ours, theirs):
            for m in model.modules():
                if isinstance(m, torch.nn.Dropout):
                    m.p = 0.1
            for m in theirs.modules():
                if hasattr(m, "attention_dropout"):
                    m.attention_dropout.p = 0.1
    ours.train(), theirs.train()
    torch.manual_seed(5)
    a = hidden(ours)
    torch.manual_seed(5)
    b = hidden(theirs)
    assert not torch.allclose(a, hidden(ours))  # dropout is on
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    assert_same_gradients(ours, theirs, a, b)  # on the CPU, attention without SDPA


def test_reads_masked_lm_checkpoints_and_old_layer_norm_names(tmp_path):
    mlm = encoders.load_masked_lm("tiny-bert", seed=2)
    mlm.save_pretrained(tmp_path / "mlm")  # keys under "bert.", plus the LM head
    ours = encoders.load_encoder(str(tmp_path / "mlm"), impl="psymtl").eval()
    torch.testing.assert_close(hidden(ours), hidden(mlm.bert.eval()), rtol=1e-5, atol=1e-5)
    state = load_file(tmp_path / "mlm" / "model.safetensors")
    old = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias",
                                                                      "LayerNorm.beta"): v
           for k, v in state.items()}
    save_file(old, tmp_path / "mlm" / "model.safetensors")
    torch.testing.assert_close(
        hidden(encoders.load_encoder(str(tmp_path / "mlm"), impl="psymtl").eval()), hidden(ours))


def test_a_checkpoint_missing_weights_is_refused_by_name(tmp_path):
    encoders.load_encoder("tiny-bert", seed=1, impl="psymtl").save_pretrained(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    del state["encoder.layer.1.output.dense.weight"]
    save_file(state, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match=r"encoder\.layer\.1\.output\.dense\.weight"):
        encoders.load_encoder(str(tmp_path), impl="psymtl")


@pytest.mark.parametrize("kind", ["bert", "albert"])
def test_a_transformers_model_converts_with_its_weights(kind):
    """The route of a hub id: `transformers` downloads and loads it, its weights are copied."""
    cfg = AutoConfig.for_model(kind, vocab_size=30522, hidden_size=32, num_hidden_layers=2,
                               num_attention_heads=2, intermediate_size=64)
    theirs = AutoModel.from_config(cfg).eval()
    ours = transformer.from_module(theirs).eval()
    torch.testing.assert_close(hidden(ours), hidden(theirs), rtol=1e-5, atol=1e-5)


def test_other_architectures_and_cuda_are_refused(tmp_path):
    cfg = AutoConfig.for_model("roberta", vocab_size=100, hidden_size=32, num_hidden_layers=1,
                               num_attention_heads=2, intermediate_size=64)
    AutoModel.from_config(cfg).save_pretrained(tmp_path)
    assert not transformer.supports(cfg.to_dict())
    with pytest.raises(ValueError, match=r"\(roberta\): encoder_impl psymtl computes BERT"):
        encoders.load_encoder(str(tmp_path), impl="psymtl")
    with pytest.raises(ValueError, match=r"\(roberta\), model 'multihead': encoder_impl psymtl"):
        encoders.check(str(tmp_path), "multihead", impl="psymtl")
    with pytest.raises(ValueError, match="CPU only"):
        encoders.check("minilm", "multihead", impl="psymtl", device="cuda")
    enc = encoders.load_encoder("tiny-bert", impl="psymtl")
    with pytest.raises(RuntimeError, match="CPU only"):
        enc(input_ids=IDS.to("meta"))
    assert type(encoders.load_encoder(str(tmp_path))).__name__ == "RobertaModel"


@pytest.mark.parametrize("stored", ["fp16", "sharded"])
def test_fp16_and_sharded_checkpoints_load(stored, tmp_path):
    theirs = encoders.load_encoder("tiny-bert", seed=2).eval()
    if stored == "fp16":
        theirs.half().save_pretrained(tmp_path)
        theirs.float()
    else:
        theirs.save_pretrained(tmp_path, max_shard_size="200KB")
        assert (tmp_path / "model.safetensors.index.json").is_file()
    ours = encoders.load_encoder(str(tmp_path), impl="psymtl").eval()
    assert {p.dtype for p in ours.parameters()} == {torch.float32}
    tol = 2e-3 if stored == "fp16" else 1e-5  # the fp16 rounding of the stored weights
    torch.testing.assert_close(hidden(ours), hidden(theirs), rtol=tol, atol=tol)


def test_the_masks_generator_is_seeded_saved_in_the_state_dict_and_shared_by_task_layers():
    from psymtl import models

    a = encoders.load_encoder("tiny-bert", seed=4, impl="psymtl").train()
    b = encoders.load_encoder("tiny-bert", seed=4, impl="psymtl").train()
    torch.testing.assert_close(hidden(a), hidden(b))  # the same seed, the same masks
    state = {k: v.clone() for k, v in a.state_dict().items()}
    first = hidden(a)
    a.load_state_dict(state)  # as a resumed run restores it
    torch.testing.assert_close(hidden(a), first)
    model = models.build("double_encoder", a, [TASKS["depression"], TASKS["stress"]])
    layer = model.task_layers.layers["stress"]
    assert layer.attention.self.dropout.masks is a.masks
    assert "encoder._extra_state" in model.state_dict()


def test_a_saved_run_reloads_with_the_encoder_path_it_trained_with(tmp_path):
    from psymtl import models, saved

    task = [TASKS["stress"]]
    model = models.build("double_encoder", encoders.load_encoder("tiny-bert", 2, impl="psymtl"),
                         task).eval()
    cond = {"encoder": "tiny-bert", "encoder_impl": "psymtl", "model": "double_encoder",
            "tasks": ["stress"]}
    layout = {"prefix": [101], "suffix": [102], "pad_id": 0, "max_length": 32}
    saved.save(model, task, cond, 2, layout, {}, tmp_path)
    again, _ = saved.load(tmp_path)
    assert type(again.encoder) is transformer.Encoder
    torch.testing.assert_close(again(IDS, MASK)["stress"], model(IDS, MASK)["stress"])
