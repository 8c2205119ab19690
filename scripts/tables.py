"""Aggregate every run's metrics: long CSV, and mean +- sd over seeds as CSV and Markdown."""

from psymtl import logs, tables

with logs.to_file(snakemake.log[0]):  # noqa: F821
    out = snakemake.output  # noqa: F821
    long = tables.collect(snakemake.input)  # noqa: F821
    long.to_csv(out.long, index=False)
    summary = tables.summarise(long)
    summary.to_csv(out.csv, index=False)
    with open(out.md, "w") as f:
        f.write("# Test-set results (mean ± sd over seeds)\n\n")
        f.write(tables.headline(summary).to_markdown(index=False) + "\n")
