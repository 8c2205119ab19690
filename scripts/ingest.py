"""Validate one raw dataset and write its canonical parquet plus a report of dropped rows."""

from psymtl import ingest, logs
from psymtl.io import write_json, write_parquet

with logs.to_file(snakemake.log[0]) as log:  # noqa: F821
    df, report = ingest.ingest(snakemake.wildcards.dataset, snakemake.input[0],  # noqa: F821
                               origin=snakemake.params.origin,  # noqa: F821
                               **snakemake.params.options)  # noqa: F821
    log.info("ingest report: %s", report)
    write_parquet(df, snakemake.output.data)  # noqa: F821
    write_json(report, snakemake.output.report)  # noqa: F821
