"""The model card of a saved condition: what it was trained on, how, how well it did on the
held-out test posts, what it is for and what it is not."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from psymtl.io import read_json

LIMITS = """\
- **Not a diagnostic tool.** It was trained on public forum posts labelled by annotators,
  forum membership or an LLM, not on clinical assessments. Its outputs describe language
  that resembles the training labels; they say nothing reliable about a person's health.
  Do not use them to make decisions about individuals.
- Forum posts differ from other text (clinical notes, messages, other platforms, other
  languages, other years): expect lower and unmeasured performance there.
- Inputs longer than the maximum length are cut; labels inherit the biases of their
  sources (who posts on these forums, how they were annotated).
- The test metrics below come from one held-out split of the training data; the spread over
  seeds is the only uncertainty shown."""


def render(study: str, condition: str, summaries: Sequence[str], metrics: Sequence[str],
           models: Sequence[str], datasets: Mapping[str, str]) -> str:
    """The card as Markdown."""
    runs = [read_json(f) for f in summaries]
    s = runs[0]["settings"]
    rows = []
    for f in metrics:
        for task, vals in read_json(f)["test"].items():
            rows += [{"task": task, "metric": k, "value": v} for k, v in vals.items()
                     if k != "n"]
    table = (pd.DataFrame(rows).groupby(["task", "metric"])["value"]
             .agg(mean="mean", sd="std", seeds="count").reset_index())
    seeds = ", ".join(str(r["settings"]["seed"]) for r in runs)
    examples = runs[0].get("examples", {})
    return f"""# {study}/{condition}: a PsyMTL model

Fine-tuned `{s['encoder']}` ({s['model']}, {', '.join(f'{k}={v}' for k, v in
s.get('model_args', {}).items()) or 'default arguments'}) for the tasks
{', '.join(f'`{t}`' for t in s['tasks'])}; one model per seed ({seeds}), saved in the Hugging
Face layout: `encoder/` (`save_pretrained` of the encoder and its tokenizer),
`heads.safetensors` and `psymtl.json` (tasks, labels, scales, token layout, settings).

## Intended use
Research on the studies this workflow reproduces, and scoring posts of the same kind
(`snakemake predict`, README: "Scoring your own posts"); scores are the mean over the seeds.

## Training data
Datasets: {', '.join(f'{d} ({src})' for d, src in datasets.items())}. Examples per split
(seed {runs[0]['settings']['seed']}): {', '.join(f'{k} {v}' for k, v in examples.items())}.
Maximum length {read_json(Path(models[0]) / 'psymtl.json')['layout']['max_length']} tokens,
{s['epochs']} epochs, learning rate {s['lr']}, batch size {s['batch_size']}, weighting
`{s.get('weighting', {}).get('kind', 'fixed')}`.

## Test metrics (mean ± sd over {len(runs)} seeds)

{table.to_markdown(index=False, floatfmt='.4f')}

## Limits
{LIMITS}
"""
