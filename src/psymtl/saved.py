"""Trained models kept for scoring new posts, and the scoring.

A saved run is a folder in the Hugging Face layout: ``encoder/`` (``save_pretrained`` of the
fine-tuned encoder and its tokenizer), ``heads.safetensors`` (every other weight: heads,
extra layers, fusion) and ``psymtl.json`` (architecture, tasks with their labels, target
scales, token layout, the run's complete settings and whether it ran under bf16 autocast).
:func:`score` tokenises posts as the training data was tokenised, runs each seed's model on
length-sorted batches in the run's precision and averages their outputs (the ensemble of the
seeds). :class:`Ensemble` (``psymtl.load``) keeps the runs loaded to score many texts. No call
here changes the process (threads, allocator): the job entry points do that.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from psymtl import tasks as T
from psymtl.errors import InputError
from psymtl.io import read_json, write_json

FORMAT = 1
log = logging.getLogger(__name__)


def save(model, tasks: Sequence[T.Task], cond: Mapping[str, Any], seed: int, layout: dict,
         scales: Mapping[str, tuple[float, float]], out: str | Path, bf16: bool = False
         ) -> None:
    """Write ``model`` (its best-dev weights) as a saved run into ``out``; ``bf16``: it was
    trained and evaluated under bf16 autocast (scoring then uses it too)."""
    from safetensors.torch import save_file

    from psymtl import encoders

    out = Path(out)
    (out / "encoder").mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(out / "encoder")
    encoders.load_tokenizer(cond["encoder"]).save_pretrained(out / "encoder")
    heads = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()
             if not k.startswith("encoder.")}
    save_file(heads, out / "heads.safetensors")
    write_json({"format": FORMAT, "model": cond["model"],
                "model_args": cond.get("model_args", {}),
                "tasks": {t.name: T.spec(t) for t in tasks},
                "scales": {k: [float(m), float(s)] for k, (m, s) in scales.items()},
                "layout": layout, "settings": dict(cond), "seed": seed, "bf16_autocast": bf16},
               out / "psymtl.json")


def load(folder: str | Path, device=None):
    """A saved run's model (in eval mode) and its ``psymtl.json``."""
    import torch
    from safetensors.torch import load_file

    from psymtl import encoders, models

    folder = Path(folder)
    info = read_json(folder / "psymtl.json")
    tasks = saved_tasks(info)
    run = info["settings"]  # the encoder computed as in the run (psymtl's on the CPU only)
    impl = run.get("encoder_impl", "transformers")
    encoder = encoders.load_encoder(
        str(folder / "encoder"), seed=info["seed"],
        attn_implementation=run.get("attn_implementation", "sdpa"),
        impl=impl if torch.device(device or "cpu").type == "cpu" else "transformers")
    model = models.build(info["model"], encoder, tasks, **info["model_args"])
    missing, unexpected = model.load_state_dict(load_file(folder / "heads.safetensors"),
                                                strict=False)
    missing = [k for k in missing if not k.startswith("encoder.")]
    if missing or unexpected:
        raise ValueError(f"{folder}: weights do not fit the model (missing {missing[:3]}, "
                         f"unexpected {unexpected[:3]})")
    return model.to(device or torch.device("cpu")).eval(), info


def saved_tasks(info: Mapping[str, Any]) -> list[T.Task]:
    """A saved run's tasks in the run's order (``psymtl.json`` keeps them by name, sorted;
    the order matters: HDLN's first task is the root of its hierarchy)."""
    order = info["settings"].get("tasks") or list(info["tasks"])
    return [T.from_spec(info["tasks"][name]) for name in order]


def read_posts(path: str | Path) -> pd.DataFrame:
    """A user's posts (CSV or parquet with ``id`` and ``text``), checked as ingestion checks
    its files: one error naming the file, the line (parquet: the record's id) and the field."""
    from psymtl.ingest import read_csv

    path = Path(path)
    if path.suffix == ".parquet":
        if not path.is_file():
            raise InputError(path, "no such file: give the posts to score as a CSV or parquet "
                             "file with columns id and text")
        df = pd.read_parquet(path)
        missing = [c for c in ("id", "text") if c not in df.columns]
        if missing:
            raise InputError(path, f"missing column(s) {missing}; found {list(df.columns)}")
        df = df.assign(id=df["id"].astype(str))
    else:
        df = read_csv(path, ["id", "text"])

    def at(i: int) -> dict[str, Any]:
        return ({"line": int(df["_line"].iat[i])} if "_line" in df
                else {"record": df["id"].iat[i]})

    empty = df["text"].isna() | (df["text"].astype(str).str.strip() == "")
    if empty.any():
        i = int(np.flatnonzero(empty.to_numpy())[0])
        raise InputError(path, f"empty text ({int(empty.sum())} posts like it): give every "
                         "post a text", field="text", **at(i))
    dup = df["id"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(path, f"id {df['id'].iat[i]!r} appears twice; ids must be unique",
                         field="id", **at(i))
    return df[["id", "text"]].reset_index(drop=True)


def check_texts(texts: Sequence[str]) -> list[str]:
    """``texts`` as a list of non-empty strings; the first that is not one is named by its
    position (a file of posts gets the same check with its lines: :func:`read_posts`)."""
    if isinstance(texts, str):
        raise TypeError("score takes a sequence of texts, not one string: score([text])")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str) or not t.strip():
            raise ValueError(f"text {i} is {'empty' if isinstance(t, str) else type(t).__name__}"
                             ": give every post a non-empty text")
    return out


class Ensemble:
    """Saved runs loaded once (one run, or the seeds of a condition) that score texts with
    the mean of their outputs. Build it with :func:`psymtl.load`."""

    def __init__(self, folders: str | Path | Sequence[str | Path], device=None) -> None:
        """Load every run of ``folders``; ``device``: a torch device, or ``cpu`` (default),
        ``cuda`` or ``auto`` (CUDA when there is one)."""
        import torch
        from transformers import AutoTokenizer

        from psymtl.trainer import Settings, pick_device, use_bf16

        folders = [folders] if isinstance(folders, str | Path) else list(folders)
        if not folders:
            raise ValueError("name at least one saved model folder")
        self.folders = [Path(f) for f in folders]
        self.device = (torch.device("cpu") if device is None else pick_device(device)
                       if isinstance(device, str) else device)
        self.runs = []
        for folder in self.folders:
            if not (folder / "psymtl.json").is_file():
                raise InputError(folder, "not a saved model folder (no psymtl.json): name a "
                                 "run's model/ folder, e.g. results/B/double_encoders/seed1/model")
            model, info = load(folder, self.device)
            if info["settings"].get("augment"):
                raise ValueError(f"{folder}: this model reads annotation tokens "
                                 f"({info['settings']['augment']}) that new posts do not "
                                 "have; score with a condition without `augment`")
            info["scored_bf16"] = bool(info.get("bf16_autocast")) and use_bf16(
                self.device, Settings(cuda_precision="auto", cpu_bf16=True))  # as the run predicted
            if info.get("bf16_autocast") and not info["scored_bf16"]:
                log.warning("%s ran under bf16 autocast, which this %s does not run "
                            "natively: scored in fp32 (outputs differ from the run's own by "
                            "bf16 rounding)", folder, self.device)
            self.runs.append((model, info, AutoTokenizer.from_pretrained(folder / "encoder")))

    @property
    def tasks(self) -> dict[str, T.Task]:
        """Every task the runs predict, by name."""
        return {t.name: t for _, info, _ in self.runs
                for t in saved_tasks(info)}

    def score(self, texts: Sequence[str], ids: Sequence[Any] | None = None,
              batch_tokens: int = 4096, progress: bool = False) -> pd.DataFrame:
        """One row per text: per classification task its class probabilities
        (``task:class``) and the most probable class (``task``), per distribution task the
        predicted distribution, per regression task the value (and ``task:sd_over_runs``),
        each the mean over the runs; an ``id`` column first when ``ids`` are given. Posts are
        cut at the runs' maximum length, as in training."""
        import torch

        from psymtl import tokens
        from psymtl.trainer import Split, predict

        texts = check_texts(texts)
        if ids is not None and len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
        sums: dict[str, list[np.ndarray]] = {}
        keys = pd.DataFrame({"id": list(ids) if ids is not None else range(len(texts))})
        for model, info, tokenizer in self.runs:
            lay = info["layout"]
            token_ids, _ = tokens.tokenize_texts(texts, tokenizer, lay["max_length"])
            data = Split(keys=keys, ids=token_ids, layout=lay, targets={}, present={})
            task_list = saved_tasks(info)
            with torch.inference_mode():
                pred = predict(model, task_list, data, batch_tokens // lay["max_length"] or 1,
                               self.device, info["scored_bf16"],
                               label=f"score (seed {info['seed']})" if progress else None)
            for name, (mu, sd) in info["scales"].items():
                pred[name] = pred[name] * sd + mu
            for t in task_list:
                sums.setdefault(t.name, []).append(pred[t.name])
        out = keys.copy() if ids is not None else pd.DataFrame(index=range(len(texts)))
        tasks = self.tasks
        for name, preds in sums.items():
            t, stack = tasks[name], np.stack(preds)
            mean = stack.mean(axis=0)
            if mean.ndim == 1:  # regression: one value per post
                out[name] = mean
                out[f"{name}:sd_over_runs"] = stack.std(axis=0) if len(preds) > 1 else np.nan
                continue
            labels = t.classes or tuple(str(i) for i in range(mean.shape[1]))
            for j, label in enumerate(labels):
                out[f"{name}:{label}"] = mean[:, j]
            if t.kind.decisions:
                out[name] = np.asarray(labels, dtype=object)[mean.argmax(axis=1)]
        return out

    def provenance(self, posts: int) -> dict[str, Any]:
        """Which runs scored how many posts, with what settings and precision."""
        infos = [info for _, info, _ in self.runs]
        first = infos[0]["settings"]
        return {"runs": [str(f) for f in self.folders], "seeds": [i["seed"] for i in infos],
                "ensemble": "mean of the runs' probabilities / values",
                "settings": {k: v for k, v in first.items() if k != "seed"},
                "bf16_autocast": [i["scored_bf16"] for i in infos], "posts": posts}


def score(folders: Sequence[str | Path], posts: pd.DataFrame, batch_tokens: int = 4096,
          device=None, progress: bool = True) -> tuple[pd.DataFrame, dict]:
    """Score ``posts`` (``id``, ``text``, as :func:`read_posts` gives them) with the ensemble
    of the saved runs in ``folders``; also return the provenance (runs, seeds, settings)."""
    ensemble = Ensemble(folders, device)
    table = ensemble.score(posts["text"].tolist(), posts["id"].tolist(), batch_tokens,
                           progress)
    return table, ensemble.provenance(len(posts))
