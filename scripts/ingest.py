"""Validate one raw dataset and write its canonical parquet plus a report of dropped rows."""

from psymtl import datasets, logs
from psymtl.io import write_json, write_parquet

with logs.to_file(snakemake.log[0]) as log:
    p = snakemake.params
    df, report = datasets.ingest(snakemake.wildcards.dataset, snakemake.input[0], p.kind,
                                 origin=p.origin, **p.options)
    log.info("ingest report: %s", report)
    write_parquet(df, snakemake.output.data)
    write_json(report, snakemake.output.report)
