"""Test metric per condition of one study, with confidence intervals over seeds."""

from psymtl import figures, logs, tables

with logs.to_file(snakemake.log[0]):  # noqa: F821
    figures.metric_per_condition(tables.collect(snakemake.input),  # noqa: F821
                                 snakemake.wildcards.study, snakemake.output[0])  # noqa: F821
