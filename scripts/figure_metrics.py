"""Test metrics per condition of one study, every seed a point."""

from psymtl import figures, logs, tables
from psymtl import tasks as T

with logs.to_file(snakemake.log[0]):
    T.use(snakemake.params.tasks)
    runs = [dict(r, metrics=m) for r, m in
            zip(snakemake.params.runs, snakemake.input, strict=True)]
    figures.metric_per_condition(tables.collect(runs, snakemake.params.health),
                                 snakemake.wildcards.study, snakemake.output[0])
