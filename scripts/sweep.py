"""A sensitivity sweep: its table and figure."""

from psymtl import figures, logs, tables
from psymtl.tasks import TaskSet

with logs.to_file(snakemake.log[0]):
    p = snakemake.params
    runs = [dict(r, metrics=m) for r, m in zip(p.runs, snakemake.input, strict=True)]
    table = tables.sensitivity(tables.collect(runs, p.health), p.sweep)
    table.to_csv(snakemake.output.csv, index=False)
    figures.sensitivity(table, p.sweep, snakemake.output.png, TaskSet.from_specs(p.tasks))
