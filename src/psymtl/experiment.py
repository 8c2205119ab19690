"""One training run: a study condition at one seed, from canonical data to predictions."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from psymtl import encoders, evaluation, machine, metrics, models, provenance, weighting
from psymtl import predictions as P
from psymtl.io import read_json, write_json, write_parquet
from psymtl.tasks import Task, TaskSet
from psymtl.trainer import Settings, Split, fit, predict, seed_everything

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Selection:
    """Which dev score selects the checkpoint (a condition's ``select``)."""

    task: str | None = None  # None: the first task; "all": every task
    metric: str | None = None  # None: the task kind's primary metric

    @classmethod
    def from_dict(cls, d: Mapping[str, str] | None) -> Selection:
        return cls((d or {}).get("task"), (d or {}).get("metric"))


@dataclass(frozen=True)
class RunSettings:
    """The complete settings of one training run, typed. A job builds them once, at its
    entry (:meth:`from_settings`), from the condition's merged settings (what ``psymtl
    settings`` prints), its seed and the configured tasks; the run reads only these fields."""

    tasks: tuple[Task, ...]  # trained and scored, in the condition's order
    model: str
    encoder: str  # the encoder spec (its tokenizer too)
    trainer: Settings  # the trainer's settings, the seed included
    known: TaskSet  # every configured task (a task's peers are scored from it)
    model_args: Mapping[str, Any] = field(default_factory=dict)
    weighting: Mapping[str, Any] = field(default_factory=lambda: {"kind": "fixed"})
    select: Selection = Selection()
    augment: tuple[str, ...] = ()  # annotation columns prepended as tokens
    pretrain_tasks: tuple[Task, ...] = ()  # transfer learning: fit the encoder on these first
    encoder_path: str | None = None  # a locally adapted encoder that replaces ``encoder``
    attn_implementation: str = "sdpa"  # transformers' attention (docs/encoders.md)
    encoder_impl: str = "transformers"  # or "psymtl": the hand-written BERT/ALBERT (CPU)
    max_length: int | None = None  # tokens per post, specials included; None: the cache's
    settings: Mapping[str, Any] = field(default_factory=dict)  # as plain data, without seed

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], seed: int, tasks: TaskSet,
                      encoder_path: str | None = None) -> RunSettings:
        """``settings``: a condition's complete settings as plain data (``psymtl.settings
        .condition``); ``encoder_path``: the folder of an adapted encoder (rule mlm_adapt)."""
        plain = dict(settings)
        if encoder_path:
            plain["encoder_path"] = str(encoder_path)
        return cls(tasks=tuple(tasks[n] for n in plain["tasks"]), model=plain["model"],
                   encoder=plain["encoder"],
                   trainer=Settings.from_dict({**plain, "seed": seed}), known=tasks,
                   model_args=dict(plain.get("model_args") or {}),
                   weighting=dict(plain.get("weighting") or {"kind": "fixed"}),
                   select=Selection.from_dict(plain.get("select")),
                   augment=tuple(plain.get("augment") or ()),
                   pretrain_tasks=tuple(tasks[n] for n in plain.get("pretrain_tasks") or ()),
                   encoder_path=plain.get("encoder_path"),
                   attn_implementation=plain.get("attn_implementation", "sdpa"),
                   encoder_impl=plain.get("encoder_impl", "transformers"),
                   max_length=plain.get("max_length"), settings=plain)

    @property
    def seed(self) -> int:
        return self.trainer.seed

    def identity(self) -> dict[str, Any]:
        """The settings and the seed as plain data: what ``train_summary.json`` records and
        what a checkpoint must match to be resumed."""
        return {**self.settings, "seed": self.seed}


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
        lay = {k: info[k] for k in ("prefix", "suffix", "pad_id", "max_length")}
        if layout is not None and lay != layout:
            raise ValueError("datasets of one run were tokenised with different tokenizers")
        layout = lay
        frames.append(df.assign(dataset=dataset))
    return pd.concat(frames, ignore_index=True), layout or {}


def shorten(df: pd.DataFrame, layout: dict, max_length: int | None
            ) -> tuple[pd.DataFrame, dict]:
    """The examples cut to ``max_length`` tokens (specials included) from the token cache's
    longer layout; None or the cache's own length leaves them as they are."""
    if max_length is None or max_length == layout["max_length"]:
        return df, layout
    if max_length > layout["max_length"]:
        raise ValueError(f"training.max_length {max_length} is longer than the token cache's "
                         f"{layout['max_length']} (tokenize.max_length): raise that")
    budget = max_length - len(layout["prefix"]) - len(layout["suffix"])
    return df.assign(ids=[np.asarray(x)[:budget] for x in df["ids"]]), \
        {**layout, "max_length": max_length}


def make_split(df: pd.DataFrame, layout: dict, tasks: Sequence[Task], split: str,
               known: Mapping[str, Task]) -> Split:
    """Rows of ``split`` with a target for at least one task. Peer tasks' targets (looked up
    in ``known``) are added for scoring only (they never select rows and are never trained
    on)."""
    part = df[df["split"] == split]
    peers = [known[p] for t in tasks for p in t.peers if p not in {x.name for x in tasks}]
    targets, present = {}, {}
    for t in [*tasks, *peers]:
        y, m = t.targets(part)
        targets[t.name], present[t.name] = y, m & (part["dataset"] == t.dataset).to_numpy()
    used = np.logical_or.reduce([present[t.name] for t in tasks])
    part = part[used]
    return Split(keys=part[["id", "split", "dataset"]].reset_index(drop=True),
                 ids=[np.asarray(x, dtype=np.int64) for x in part["ids"]], layout=layout,
                 targets={k: v[used] for k, v in targets.items()},
                 present={k: v[used] for k, v in present.items()})


def augment(df: pd.DataFrame, tokenizer, columns: list[str], budget: int) -> pd.DataFrame:
    """Token-augmented input: '[value] ...' of ``columns`` (e.g. speaker role and cancer type
    from the annotations) prepended to each post's token ids ('[unknown]' where missing)."""
    prefix_text = df[columns].fillna("unknown").astype(str).apply(
        lambda r: " ".join(f"[{v}]" for v in r), axis=1)
    cache = {t: tokenizer(t, add_special_tokens=False)["input_ids"]
             for t in prefix_text.unique()}
    out = df.copy()  # the post is cut so that prefix + post still fit in ``budget`` tokens
    out["ids"] = [np.concatenate([cache[p], ids[:max(budget - len(cache[p]), 1)]])
                  for p, ids in zip(prefix_text, df["ids"], strict=True)]
    return out


def standardise(tasks: Sequence[Task], train: Split, *others: Split
                ) -> dict[str, tuple[float, float]]:
    """z-score regression targets with the training split's mean and sd (in place)."""
    scales = {}
    for t in tasks:
        y = train.targets[t.name][train.present[t.name]]
        mu, sd = float(y.mean()), float(y.std()) or 1.0
        scales[t.name] = (mu, sd)
        for data in (train, *others):
            data.targets[t.name] = ((data.targets[t.name] - mu) / sd).astype(np.float32)
    return scales


def selected_tasks(select: Selection, tasks: Sequence[Task]) -> list[Task]:
    """The tasks whose dev score selects the checkpoint (``select.task``; ``all``: every
    task; default: the first)."""
    name = select.task or tasks[0].name
    chosen = list(tasks) if name == "all" else [t for t in tasks if t.name == name]
    if not chosen:
        raise ValueError(f"select.task: {name!r} is not a task of this condition; its tasks: "
                         f"{[t.name for t in tasks]}")
    return chosen


def selection_split(select: Selection, tasks: Sequence[Task], dev: Split) -> Split:
    """The dev examples the selector reads (e.g. only depression posts when depression
    selects): the others need no prediction after each epoch."""
    chosen = selected_tasks(select, tasks)
    return dev.subset(np.logical_or.reduce([dev.present[t.name] for t in chosen]))


def selector(select: Selection, tasks: Sequence[Task], data: Split):
    """Dev score to maximise: ``select.metric`` of ``select.task`` (default: the first task and
    its kind's primary metric); task ``all`` averages every task's primary metric. Metrics
    where lower is better are negated."""
    chosen = selected_tasks(select, tasks)
    pairs = [(t, select.metric if select.task != "all" and select.metric
              else t.kind.primary) for t in chosen]

    def score(pred: dict[str, np.ndarray]) -> float:
        vals = []
        for t, metric in pairs:
            m = data.present[t.name]
            sign = -1.0 if metric in metrics.LOWER_IS_BETTER else 1.0
            vals.append(sign * t.kind.metric(metric, data.targets[t.name][m], pred[t.name][m]))
        return float(np.mean(vals))
    return score


def predictions_frame(data: Split, tasks: Sequence[Task], pred: dict[str, np.ndarray]
                      ) -> pd.DataFrame:
    out = data.keys.copy()
    for t in tasks:
        p = pred[t.name]
        for name in (t.name, *t.peers):  # a peer is scored with this task's predictions
            if name in data.targets and P.column(name, P.PRED) not in out:
                y = data.targets[name]
                out[P.column(name, P.PRESENT)] = data.present[name]
                out[P.column(name, P.TARGET)] = list(y) if y.ndim > 1 else y
                out[P.column(name, P.PRED)] = list(p) if p.ndim > 1 else p
    for k, v in pred.items():
        if k.startswith("_"):
            out[k.lstrip("_")] = list(v) if v.ndim > 1 else v
    return out


def run(rs: RunSettings, inputs: Mapping[str, Mapping[str, str]], out_dir: str | Path,
        threads: int = 1, save_to: str | Path | None = None) -> dict:
    """Train with ``rs``; write predictions, their metrics, the per-step log and a summary,
    and with ``save_to`` the trained model (``psymtl.saved``). The metrics are computed here
    rather than in a job of their own: on a small machine a second process per run cost more
    in start-up than the metrics themselves."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(threads)
    settings, task_list, known = rs.trainer, list(rs.tasks), rs.known
    df, layout = shorten(*load_examples(inputs), rs.max_length)
    if rs.augment:
        budget = layout["max_length"] - len(layout["prefix"]) - len(layout["suffix"])
        df = augment(df, encoders.load_tokenizer(rs.encoder), list(rs.augment), budget)
    train, dev, test = (make_split(df, layout, task_list, s, known)
                        for s in ("train", "dev", "test"))
    scales = standardise([t for t in task_list if t.kind.standardised], train, dev, test)
    log.info("examples: train %d, dev %d, test %d", len(train), len(dev), len(test))
    seed_everything(rs.seed)
    encoder = encoders.load_encoder(rs.encoder_path or rs.encoder, seed=rs.seed,
                                    attn_implementation=rs.attn_implementation,
                                    impl=rs.encoder_impl)
    if rs.pretrain_tasks:  # transfer learning: fit the encoder on these tasks first
        pre, first = list(rs.pretrain_tasks), Selection()
        pre_dev = selection_split(first, pre, make_split(df, layout, pre, "dev", known))
        pre_summary = fit(models.build("multihead", encoder, pre, **rs.model_args),
                          weighting.build({"kind": "fixed"}, pre), pre,
                          make_split(df, layout, pre, "train", known), pre_dev, settings,
                          selector(first, pre, pre_dev),
                          out_dir / "pretrain", identity=rs.identity())
        log.info("pre-training on %s: best dev %.4f", [t.name for t in pre],
                 pre_summary["best"])
    model = models.build(rs.model, encoder, task_list, **rs.model_args)
    combiner = weighting.build(dict(rs.weighting), task_list)
    dev_select = selection_split(rs.select, task_list, dev)
    summary = fit(model, combiner, task_list, train, dev_select, settings,
                  selector(rs.select, task_list, dev_select), out_dir,
                  identity=rs.identity())
    frames = []
    selected = summary.pop("dev_predictions")  # made by the kept state when fit selected it
    for data in (dev, test):
        reuse = data is dev and selected is not None and len(dev_select) == len(dev)
        pred = selected if reuse else predict(
            model, task_list, data, settings.eval_batch_size, next(model.parameters()).device,
            summary["precision"])
        for name, (mu, sd) in scales.items():  # back to the original scale
            pred[name] = pred[name] * sd + mu
            data.targets[name] = data.targets[name] * sd + mu
        frames.append(predictions_frame(data, task_list, pred))
    predictions = pd.concat(frames, ignore_index=True)
    write_parquet(predictions, out_dir / "predictions.parquet")
    write_json(evaluation.evaluate(predictions, known), out_dir / "metrics.json")
    if save_to:
        from psymtl import saved

        saved.save(model, task_list, rs.settings, rs.seed, layout, scales, save_to,
                   bf16=summary["bf16_autocast"])
    steps = pd.DataFrame(summary.pop("log"))
    steps.to_csv(out_dir / "train_log.csv", index=False)
    summary |= {"settings": rs.identity(), "machine": machine.describe(),
                "code": provenance.code_version(),
                "examples": {"train": len(train), "dev": len(dev), "test": len(test)},
                "train_examples_per_task": {t.name: int(train.present[t.name].sum())
                                            for t in task_list}}
    write_json(summary, out_dir / "train_summary.json")
    for ckpt in (out_dir / "resume.pt", out_dir / "pretrain" / "resume.pt"):
        ckpt.unlink(missing_ok=True)
    return summary
