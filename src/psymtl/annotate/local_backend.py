"""The ``local`` backend: offline, deterministic zero-shot annotation with a real sentence
encoder (the packaged MiniLM by default) against the label descriptions in
``resources/annotation/local_v1.yaml``. It answers in the same schema as the LLM."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch

from psymtl import encoders
from psymtl.annotate.schema import EMOTION_KEYS, SUBSCALES, validate
from psymtl.logs import progress


class LocalAnnotator:
    def __init__(self, *, labels: dict[str, Any], schema: dict[str, Any],
                 encoder: str = "minilm", batch_size: int = 64, threads: int = 1, **_: Any):
        torch.set_num_threads(threads)
        self.labels, self.schema, self.batch_size = labels, schema, batch_size
        self.tok = encoders.load_tokenizer(encoder)
        self.model = encoders.load_encoder(encoder).eval()
        self.desc = {group: self.embed(list(labels[group].values()))
                     for group in ("subscales", "roles", "cancer_types", "emotions")}

    @torch.no_grad()
    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised mean-pooled sentence embeddings, batched in length order."""
        order = np.argsort([len(t) for t in texts])
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            idx = order[i:i + self.batch_size]
            enc = self.tok([texts[j] for j in idx], padding=True, truncation=True,
                           max_length=128, return_tensors="pt")
            h = self.model(**enc).last_hidden_state
            m = enc["attention_mask"].unsqueeze(-1).float()
            v = (h * m).sum(1) / m.sum(1)
            out[idx] = torch.nn.functional.normalize(v, dim=-1).numpy()
        return out

    def answer(self, sent_vecs: np.ndarray) -> dict[str, Any]:
        """The schema answer from the post's sentence embeddings."""
        lab = self.labels
        evidence = (sent_vecs @ self.desc["subscales"].T).max(0)
        levels = {k: int(np.searchsorted(lab["thresholds"], s, side="right"))
                  for k, s in zip(SUBSCALES, evidence, strict=True)}
        composite = round(10 * sum(levels.values()) / (3 * len(SUBSCALES)), 2)
        role = list(lab["roles"])[int((sent_vecs @ self.desc["roles"].T).max(0).argmax())]
        cancer_sim = (sent_vecs @ self.desc["cancer_types"].T).max(0)
        cancer = (list(lab["cancer_types"])[int(cancer_sim.argmax())]
                  if cancer_sim.max() >= lab["cancer_min_similarity"] else "other/unknown")
        logits = (sent_vecs @ self.desc["emotions"].T).max(0) / lab["emotion_temperature"]
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        answer = {**levels, "composite_burden": composite,
                  "high_need": composite >= lab["high_need_threshold"], "speaker_role": role,
                  "cancer_type": cancer,
                  "emotion_probs": {k: float(p) for k, p in zip(EMOTION_KEYS, probs, strict=True)}}
        return validate(answer, self.schema)

    def annotate(self, items: Iterable[tuple[str, str]],
                 on_result: Callable[[str, dict[str, Any] | None, str | None], None]) -> None:
        items = list(items)
        for start in progress(range(0, len(items), 256), "annotate (local)", unit="chunk"):
            chunk = items[start:start + 256]
            sents = [split_sentences(t) for _, t in chunk]
            flat = self.embed([s for ss in sents for s in ss])
            pos = 0
            for (key, _), ss in zip(chunk, sents, strict=True):
                on_result(key, self.answer(flat[pos:pos + len(ss)]), None)
                pos += len(ss)

    def report(self) -> dict[str, Any]:
        return {"calls": 0, "cost_usd": 0.0}


def split_sentences(text: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+|\n+", text) if p.strip()]
    return parts or [text]
