"""Aggregate every run's metrics: long CSV, mean +- sd over seeds (CSV, Markdown), and each
paper's reported numbers beside ours (CSV, Markdown, LaTeX)."""

from pathlib import Path

import pandas as pd
import yaml

from psymtl import logs, tables

with logs.to_file(snakemake.log[0]):  # noqa: F821
    out = snakemake.output  # noqa: F821
    long = tables.collect(snakemake.input.metrics)  # noqa: F821
    long.to_csv(out.long, index=False)
    summary = tables.summarise(long)
    summary.to_csv(out.csv, index=False)
    with open(out.md, "w") as f:
        f.write("# Test-set results (mean ± sd over seeds)\n\n")
        f.write(tables.headline(summary).to_markdown(index=False) + "\n")
    paper = yaml.safe_load(Path(snakemake.input.paper).read_text())  # noqa: F821
    studies = sorted(set(summary["study"]))
    comps = [tables.paper_comparison(summary, paper.get(s, {}), s) for s in studies]
    comp = pd.concat(comps, ignore_index=True) if comps else pd.DataFrame()
    comp.to_csv(out.paper_csv, index=False)
    comp.to_latex(out.paper_tex, index=False, float_format="%.3f", na_rep="--")
    with open(out.paper_md, "w") as f:
        f.write("# Our results beside the papers' reported values\n\n")
        for s, c in zip(studies, comps, strict=True):
            if len(c):
                f.write(f"## Study {s}\n\n{tables.paper_markdown(c, paper[s])}\n")
