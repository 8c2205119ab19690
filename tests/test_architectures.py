"""Any ``transformers`` encoder: tiny random BERT, RoBERTa, DeBERTa-v2, DistilBERT, ModernBERT
and MPNet models built here (MiniLM's tokenizer saved beside each) train, save, reload and
score with every model type, adapt by masked LM, and their task-specific layers compute what
the encoder's own last layer computes; fp16 and sharded checkpoints load; what cannot run
stops with a message naming the encoder and the model type."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from psymtl import datasets, encoders, mlm, models, saved, weighting
from psymtl.trainer import Settings, Split, fit, predict, seed_everything

TASKS = datasets.tasks({name: {} for name in ("dreaddit", "pirina", "fig_loneliness")})

SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
             max_position_embeddings=128)
TINY = {
    "bert": SMALL,
    "roberta": SMALL | {"type_vocab_size": 1},
    "deberta-v2": SMALL | {"relative_attention": True, "position_buckets": 16,
                           "pos_att_type": ["p2c", "c2p"], "max_relative_positions": -1},
    "distilbert": dict(dim=32, n_layers=2, n_heads=2, hidden_dim=64,
                       max_position_embeddings=128),
    # layer 0 global attention, layer 1 a sliding window of 8 tokens (its own mask)
    "modernbert": SMALL | {"global_attn_every_n_layers": 2, "local_attention": 8,
                           "bos_token_id": 101, "cls_token_id": 101, "eos_token_id": 102,
                           "sep_token_id": 102},
    "mpnet": SMALL,
}
EXTRA = {"electra": SMALL | {"embedding_size": 16},
         "albert": SMALL | {"embedding_size": 16}}  # equality of their task layers only


def build(tmp: Path, kind: str, dtype: torch.dtype = torch.float32, shard: str | None = None,
          seed: int = 0) -> str:
    """A tiny random ``kind`` model saved in ``tmp/kind`` with MiniLM's tokenizer."""
    from transformers import AutoConfig, AutoModel

    folder = tmp / kind
    tok = encoders.load_tokenizer("minilm")
    config = AutoConfig.for_model(kind, vocab_size=tok.vocab_size, pad_token_id=0,
                                  **(TINY | EXTRA)[kind])
    torch.manual_seed(seed)
    model = AutoModel.from_config(config).to(dtype)
    model.save_pretrained(folder, **({"max_shard_size": shard} if shard else {}))
    tok.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("encoders")
    return {kind: build(root, kind) for kind in (*TINY, *EXTRA)}


def toy(tok, n: int, seed: int, name: str) -> Split:
    """Depression (yes/no) and stress posts: one word decides the label."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    words = ["calm", "fine", "happy", "sad", "hopeless", "tired", "today", "work", "friends"]
    texts = [" ".join(rng.choice(words, rng.integers(3, 12))) + (" hopeless" if v else " calm")
             for v in y]
    ids = [np.asarray(tok(t, add_special_tokens=False)["input_ids"]) for t in texts]
    keys = pd.DataFrame({"id": [f"{name}{i}" for i in range(n)], "split": name,
                         "dataset": "x"})
    layout = {"prefix": [tok.cls_token_id], "suffix": [tok.sep_token_id],
              "pad_id": tok.pad_token_id, "max_length": 32}
    return Split(keys=keys, ids=ids, layout=layout,
                 targets={"depression": y, "stress": 1 - y},
                 present={"depression": np.ones(n, bool), "stress": rng.random(n) < 0.5})


FIG = ["lonely", "temporal", "interaction", "context_pri", "interpersonal_pri"]
MODELS = {  # model: its arguments, tasks and loss weighting
    "multihead": ({}, ["depression", "stress"], {"kind": "fixed"}),
    "double_encoder": ({"fusion": "attention"}, ["depression", "stress"], {"kind": "fixed"}),
    "hdln": ({"beta": 0.5}, FIG, {"kind": "hierarchical", "learn": False})}


def fig_targets(split: Split, seed: int) -> Split:
    """FIG-Loneliness-like distribution targets for the HDLN."""
    rng = np.random.default_rng(seed)
    n = len(split)
    targets, present = {}, {}
    for name in FIG:
        k = TASKS[name].n_out
        targets[name] = rng.dirichlet(np.ones(k), n).astype(np.float32)
        present[name] = np.ones(n, bool)
    return Split(keys=split.keys, ids=split.ids, layout=split.layout, targets=targets,
                 present=present)


@pytest.mark.parametrize("kind", list(TINY))
def test_every_model_type_trains_saves_reloads_and_scores(kind, tiny, tmp_path):
    folder = tiny[kind]
    tok = encoders.load_tokenizer(folder)
    for name, (args, task_names, weights) in MODELS.items():
        tasks = [TASKS[t] for t in task_names]
        train, dev = toy(tok, 16, 1, "train"), toy(tok, 4, 2, "dev")
        if name == "hdln":
            train, dev = fig_targets(train, 1), fig_targets(dev, 2)
        seed_everything(1)
        model = models.build(name, encoders.load_encoder(folder, seed=1), tasks, **args)
        s = Settings(epochs=1, batch_size=8, lr=1e-3, seed=1, patience=1, device="cpu",
                     cpu_bf16=False)
        summary = fit(model, weighting.build(weights, tasks), tasks, train, dev, s,
                      lambda pred: 0.0, tmp_path / name)
        assert summary["steps"] == 2 and np.isfinite(summary["log"][-1]["loss"])
        cpu = torch.device("cpu")
        before = predict(model, tasks, dev, 4, cpu)
        cond = {"encoder": folder, "model": name, "model_args": args, "tasks": task_names}
        saved.save(model, tasks, cond, 1, dev.layout, {}, tmp_path / name / "model")
        again, info = saved.load(tmp_path / name / "model")
        after = predict(again, tasks, dev, 4, cpu)
        assert info["model"] == name and type(again.encoder) is type(model.encoder)
        for t in task_names:
            np.testing.assert_allclose(after[t], before[t], atol=1e-5, err_msg=f"{kind} {name}")
        if name == "double_encoder":  # scoring new posts: the same code for every model
            scored, _ = saved.score([tmp_path / name / "model"],
                                    pd.DataFrame({"id": ["a"], "text": ["I feel hopeless"]}),
                                    progress=False)
            assert scored["depression"].tolist()[0] in ("no", "yes")


@pytest.mark.parametrize("kind", list(TINY))
def test_masked_lm_adaptation(kind, tiny, tmp_path):
    texts = [f"post {i}: I have felt lonely since the move, nobody to talk to"
             for i in range(16)]
    summary = mlm.adapt(texts, tiny[kind], tmp_path, epochs=1, lr=1e-3, batch_size=8,
                        mask_prob=0.15, warmup_ratio=0.1, max_length=24, seed=1)
    assert summary["steps"] == 2 and np.isfinite(summary["last_loss"])
    enc = encoders.load_encoder(str(tmp_path))
    assert enc.config.model_type == kind


@pytest.mark.parametrize("kind", [*TINY, *EXTRA, "bert/psymtl", "albert/psymtl"])
def test_a_task_layer_given_the_captured_inputs_is_the_encoders_last_layer(kind, tiny):
    """The task layer (a copy of the last layer, called with every input the encoder passes
    its own) fed the encoder's penultimate hidden states gives the encoder's output
    (``/psymtl``: the hand-written encoder of ``encoder_impl: psymtl``)."""
    kind, _, impl = kind.partition("/")
    enc = encoders.load_encoder(tiny[kind], impl=impl or "transformers").eval()
    layers = models.TaskLayers(enc, ["t"])
    ids = torch.randint(1000, 2000, (3, 11), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    mask[0, 7:] = 0
    with torch.no_grad(), layers.capture(enc) as cap:
        last = enc(input_ids=ids, attention_mask=mask).last_hidden_state
        cap.output = cap.args[0] if cap.args else cap.kwargs["hidden_states"]  # penultimate
        mine = layers("t", cap, slice(None))
    assert torch.equal(mine[mask.bool()], last[mask.bool()])
    rows = torch.tensor([True, False, True])
    with torch.no_grad():
        some = layers("t", cap, rows)  # the same on a subset of the posts
    torch.testing.assert_close(some, mine[rows], atol=1e-5, rtol=1e-5)


def train_two_steps(folder: str, tmp: Path) -> torch.nn.Module:
    """A multi-head model on ``folder``'s encoder after two training steps."""
    tok = encoders.load_tokenizer(folder)
    task = [TASKS["depression"]]
    model = models.build("multihead", encoders.load_encoder(folder), task)
    s = Settings(epochs=1, batch_size=8, lr=1e-3, seed=1, patience=1, device="cpu")
    summary = fit(model, weighting.build({"kind": "fixed"}, task), task, toy(tok, 16, 1, "t"),
                  toy(tok, 4, 2, "d"), s, lambda pred: 0.0, tmp)
    assert summary["steps"] == 2 and np.isfinite(summary["log"][-1]["loss"])
    return model


def test_an_fp16_checkpoint_loads_in_fp32_and_trains(tmp_path):
    folder = build(tmp_path, "bert", dtype=torch.float16)
    stored = json.loads((Path(folder) / "config.json").read_text())
    assert stored.get("dtype", stored.get("torch_dtype")) == "float16"
    model = train_two_steps(folder, tmp_path / "run")
    assert {p.dtype for p in model.parameters()} == {torch.float32}


def test_a_sharded_checkpoint_loads_and_trains(tmp_path):
    folder = build(tmp_path, "roberta", shard="400KB")
    assert (Path(folder) / "model.safetensors.index.json").is_file()
    from transformers import AutoModel

    whole = AutoModel.from_pretrained(folder).state_dict()
    mine = encoders.load_encoder(folder).state_dict()
    assert all(torch.equal(mine[k], v) for k, v in whole.items())
    train_two_steps(folder, tmp_path / "run")


def test_tiny_encoders_are_seeded_transformers_models():
    a, b = (encoders.load_encoder("tiny-albert", seed=4) for _ in range(2))
    c = encoders.load_encoder("tiny-albert", seed=5)
    assert type(a).__name__ == "AlbertModel" and a.config._attn_implementation == "sdpa"
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_sdpa_falls_back_to_eager_where_an_architecture_has_none(tiny):
    assert encoders.load_encoder(tiny["mpnet"]).config._attn_implementation == "eager"
    assert encoders.load_encoder(tiny["bert"], attn_implementation="eager"
                                 ).config._attn_implementation == "eager"


def config_only(tmp: Path, kind: str, **kw) -> str:
    from transformers import AutoConfig

    AutoConfig.for_model(kind, **kw).save_pretrained(tmp / kind)
    return str(tmp / kind)


def test_combinations_that_cannot_run_are_refused_naming_encoder_and_model(tmp_path, tiny):
    gpt2 = config_only(tmp_path, "gpt2", n_layer=2, n_embd=32, n_head=2)
    with pytest.raises(ValueError, match=r"gpt2.*\(gpt2\), model 'double_encoder'"):
        encoders.check(gpt2, "double_encoder")
    encoders.check(gpt2, "multihead")  # its last hidden state is all a multi-head model reads
    t5 = config_only(tmp_path, "t5", num_layers=1, d_model=32)
    with pytest.raises(ValueError, match=r"\(t5\), model 'hdln': an encoder-decoder"):
        encoders.check(t5, "hdln")
    with pytest.raises(ValueError, match="flash-attn"):
        encoders.check(tiny["bert"], "multihead", "flash_attention_2")
    with pytest.raises(ValueError, match=r"no config\.json"):
        encoders.check(str(tmp_path), "multihead")
    for kind in TINY:
        encoders.check(tiny[kind], "double_encoder")


def test_the_dag_stops_at_a_double_encoder_on_an_untested_architecture(workflow):
    from conftest import snakemake

    gpt2 = config_only(workflow, "gpt2", n_layer=2, n_embd=32, n_head=2)
    (workflow / "gpt2.yaml").write_text(f"training: {{encoder: {gpt2}}}\n")
    proc = snakemake(workflow, "-n", "--configfile", "gpt2.yaml", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "studies.B.conditions.double_encoders" in out and "(gpt2), model 'double_encoder'" in out


@pytest.mark.parametrize("kind", list(TINY))
def test_every_fusion_runs_on_the_posts_with_its_tasks_target(kind, tiny):
    """Study B's Double Encoder conditions (fusion none, attention, concat): a task's layer
    run on its own posts only gives the gradients of running it on every post."""
    tasks = [TASKS["depression"], TASKS["stress"]]
    ids = torch.randint(1000, 2000, (4, 9), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    mask[0, 6:] = 0
    m_dep = torch.tensor([True, True, False, True])
    for fusion in ("none", "attention", "concat"):
        torch.manual_seed(0)
        model = models.build("double_encoder", encoders.load_encoder(tiny[kind]), tasks,
                             fusion=fusion, dropout=0.0).eval()  # eval: no dropout draws
        grads = []
        for batch in ({}, {"m_depression": m_dep, "m_stress": ~m_dep}):
            model.zero_grad()
            model.training = bool(batch)  # the row selection runs in training mode only
            out = model(ids, mask, **batch)
            (out["depression"][m_dep].sum() + out["stress"][~m_dep].sum()).backward()
            grads.append({n: p.grad.clone() for n, p in model.named_parameters()
                          if p.grad is not None})
        assert grads[0].keys() == grads[1].keys()
        for n, g in grads[0].items():
            torch.testing.assert_close(g, grads[1][n], rtol=1e-4, atol=1e-6,
                                       msg=f"{kind} {fusion} {n}")


@pytest.mark.slow
def test_every_study_b_and_c_condition_runs_on_a_deberta_encoder(workflow):
    """The workflow end to end with a tiny DeBERTa-v2 (relative positions, no SDPA): every
    Study B and C condition trains and is scored, the Double Encoders are saved, reload and
    score new posts."""
    from conftest import snakemake

    import psymtl

    folder = build(workflow, "deberta-v2")
    (workflow / "deberta.yaml").write_text(yaml.safe_dump({
        "run_studies": ["B", "C"], "seeds": [1], "training": {"encoder": folder},
        "models": {"save": ["B/double_encoders"]}}))
    snakemake(workflow, "--cores", "2", "--configfile", "tests/configs/tiny.yaml",
              "deberta.yaml", timeout=1500)
    res = workflow / "results"
    config = yaml.safe_load((workflow / "config.yaml").read_text())
    for study in ("B", "C"):
        for cond in config["studies"][study]["conditions"]:
            metrics = json.loads((res / study / cond / "seed1" / "metrics.json").read_text())
            assert metrics["test"], (study, cond)
            summary = json.loads((res / study / cond / "seed1" / "train_summary.json")
                                 .read_text())
            assert summary["settings"]["encoder"] == folder
    scores = psymtl.load(res / "B" / "double_encoders" / "seed1" / "model").score(
        ["I feel hopeless", "a calm day"])
    assert len(scores) == 2 and {"depression", "stress"} <= set(scores.columns)
