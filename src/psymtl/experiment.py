"""One training run: a study condition at one seed, from canonical data to predictions."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from psymtl import encoders, metrics, models, weighting
from psymtl import tasks as T
from psymtl.io import read_json, write_json, write_parquet
from psymtl.trainer import Settings, Split, fit, predict, seed_everything

log = logging.getLogger(__name__)


def load_examples(paths: Mapping[str, Mapping[str, str]]) -> tuple[pd.DataFrame, dict]:
    """Join each dataset's canonical rows, split assignment and token ids into one frame."""
    frames, layout = [], None
    for dataset, p in paths.items():
        df = pd.read_parquet(p["data"]).merge(pd.read_parquet(p["split"]), on="id",
                                              validate="one_to_one")
        tok = pd.read_parquet(p["tokens"])[["id", "ids"]]
        df = df.merge(tok, on="id", validate="one_to_one")
        if "annotations" in p:
            df = df.merge(pd.read_parquet(p["annotations"]), on="id", how="left",
                          suffixes=("", "_llm"))
        info = read_json(p["tokens_info"])
        lay = {k: info[k] for k in ("prefix", "suffix", "pad_id")}
        if layout is not None and lay != layout:
            raise ValueError("datasets of one run were tokenised with different tokenizers")
        layout = lay
        frames.append(df.assign(dataset=dataset))
    return pd.concat(frames, ignore_index=True), layout or {}


def make_split(df: pd.DataFrame, layout: dict, tasks: list[T.Task], split: str) -> Split:
    part = df[df["split"] == split]
    targets, present = {}, {}
    for t in tasks:
        y, m = t.targets(part)
        targets[t.name], present[t.name] = y, m & (part["dataset"] == t.dataset).to_numpy()
    used = np.logical_or.reduce(list(present.values()))
    part = part[used]
    return Split(keys=part[["id", "split", "dataset"]].reset_index(drop=True),
                 ids=[np.asarray(x, dtype=np.int64) for x in part["ids"]], layout=layout,
                 targets={k: v[used] for k, v in targets.items()},
                 present={k: v[used] for k, v in present.items()})


def selector(task: T.Task, metric: str, data: Split):
    """Dev score to maximise: ``metric`` of ``task`` (negated where lower is better)."""
    m = data.present[task.name]
    sign = -1.0 if metric in metrics.LOWER_IS_BETTER else 1.0

    def score(pred: dict[str, np.ndarray]) -> float:
        return sign * metrics.compute(task.kind, data.targets[task.name][m],
                                      pred[task.name][m])[metric]
    return score


def predictions_frame(data: Split, tasks: list[T.Task], pred: dict[str, np.ndarray]
                      ) -> pd.DataFrame:
    out = data.keys.copy()
    for t in tasks:
        y, p = data.targets[t.name], pred[t.name]
        out[f"{t.name}__present"] = data.present[t.name]
        out[f"{t.name}__target"] = list(y) if y.ndim > 1 else y
        out[f"{t.name}__pred"] = list(p) if p.ndim > 1 else p
    for k, v in pred.items():
        if k.startswith("_"):
            out[k.lstrip("_")] = list(v) if v.ndim > 1 else v
    return out


def run(cond: dict[str, Any], seed: int, inputs: Mapping[str, Mapping[str, str]],
        out_dir: str | Path, threads: int = 1) -> dict:
    """Train ``cond`` with ``seed``; write predictions, the per-step log and a summary."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(threads)
    settings = Settings.from_dict({**cond, "seed": seed})
    task_list = [T.get(n) for n in cond["tasks"]]
    df, layout = load_examples(inputs)
    train, dev, test = (make_split(df, layout, task_list, s) for s in ("train", "dev", "test"))
    log.info("examples: train %d, dev %d, test %d", len(train), len(dev), len(test))
    seed_everything(seed)
    encoder = encoders.load_encoder(cond["encoder"], seed=seed)
    model = models.build(cond["model"], encoder, task_list, **cond.get("model_args", {}))
    combiner = weighting.build(cond.get("weighting", {"kind": "fixed"}), task_list)
    sel = cond.get("select") or {}
    sel_task = T.get(sel.get("task", task_list[0].name))
    sel_metric = sel.get("metric", metrics.PRIMARY[sel_task.kind])
    summary = fit(model, combiner, task_list, train, dev, settings,
                  selector(sel_task, sel_metric, dev), out_dir)
    frames = []
    for data in (dev, test):
        pred = predict(model, task_list, data, settings.eval_batch_size,
                       next(model.parameters()).device, settings.bf16)
        frames.append(predictions_frame(data, task_list, pred))
    write_parquet(pd.concat(frames, ignore_index=True), out_dir / "predictions.parquet")
    steps = pd.DataFrame(summary.pop("log"))
    steps.to_csv(out_dir / "train_log.csv", index=False)
    summary |= {"select": {"task": sel_task.name, "metric": sel_metric},
                "examples": {"train": len(train), "dev": len(dev), "test": len(test)}}
    write_json(summary, out_dir / "train_summary.json")
    (out_dir / "resume.pt").unlink(missing_ok=True)
    return summary


def evaluate(predictions: pd.DataFrame, task_names: list[str]) -> dict[str, Any]:
    """Metrics per split and task from a predictions frame."""
    out: dict[str, Any] = {}
    for split, part in predictions.groupby("split"):
        for name in task_names:
            t = T.get(name)
            m = part[f"{name}__present"].to_numpy(bool)
            if not m.any():
                continue
            y = np.stack(part.loc[m, f"{name}__target"]) if t.kind == "distribution" \
                else part.loc[m, f"{name}__target"].to_numpy()
            p = np.stack(part.loc[m, f"{name}__pred"]) if t.kind != "regression" \
                else part.loc[m, f"{name}__pred"].to_numpy()
            out.setdefault(split, {})[name] = metrics.compute(t.kind, y, p)
    return out
