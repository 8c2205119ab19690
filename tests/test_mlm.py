"""Masked-LM adaptation: the prediction head at the masked positions only gives the loss of
the full computation."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import DataCollatorForLanguageModeling

from psymtl import encoders, mlm


@pytest.mark.parametrize("spec", ["tiny-bert", "tiny-albert"])
def test_masked_positions_only_loss_equals_the_full_loss(spec):
    model = encoders.load_masked_lm(spec, seed=3).eval()
    head = mlm.prediction_head(model)
    assert head is not None
    tok = encoders.load_tokenizer(spec)
    texts = ["I feel so alone these days", "nobody texts back anymore and it hurts",
             "we went hiking with friends", "short"]
    coll = DataCollatorForLanguageModeling(tok, mlm_probability=0.3, return_tensors="pt")
    torch.manual_seed(0)
    b = coll([{"input_ids": tok(t)["input_ids"]} for t in texts])
    assert (b["labels"] != -100).any()
    with torch.no_grad():
        full = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"],
                     labels=b["labels"]).loss
        ours = mlm.masked_lm_loss(model, head, b["input_ids"], b["attention_mask"],
                                  b["labels"])
    assert float(ours) == pytest.approx(float(full), rel=1e-5)


def test_adapt_saves_a_loadable_encoder_and_its_losses(tmp_path):
    texts = [f"post {i}: I have felt lonely since the move, nobody to talk to" for i in range(24)]
    summary = mlm.adapt(texts, "tiny-bert", tmp_path, epochs=2, lr=1e-3, batch_size=8,
                        mask_prob=0.15, warmup_ratio=0.1, max_length=32, seed=1)
    assert summary["steps"] == 6 and summary["texts_per_s"] > 0
    saved = json.loads((tmp_path / "mlm_summary.json").read_text())
    assert len(saved["losses"]) == 6 and saved["last_loss"] < saved["first_loss"]
    enc = encoders.load_encoder(str(tmp_path))
    assert enc.config.hidden_size == 64
