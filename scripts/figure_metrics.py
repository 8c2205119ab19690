"""Test metrics per condition of one study, every seed a point."""

from psymtl import figures, logs, tables
from psymtl.tasks import TaskSet

with logs.to_file(snakemake.log[0]):
    runs = [dict(r, metrics=m) for r, m in
            zip(snakemake.params.runs, snakemake.input, strict=True)]
    figures.metric_per_condition(tables.collect(runs, snakemake.params.health),
                                 snakemake.wildcards.study, snakemake.output[0],
                                 TaskSet.from_specs(snakemake.params.tasks))
