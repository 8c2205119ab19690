"""Aggregate every run's metrics: long CSV, mean +- sd over seeds, and each paper's reported
numbers beside ours."""

from pathlib import Path

import yaml

from psymtl import logs, tables

with logs.to_file(snakemake.log[0]):
    runs = [dict(r, metrics=m) for r, m in
            zip(snakemake.params.runs, snakemake.input.metrics, strict=True)]
    paper = yaml.safe_load(Path(snakemake.input.paper).read_text())
    tables.write(runs, paper, dict(snakemake.output.items()), snakemake.params.health)
