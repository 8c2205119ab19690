"""Materialise one raw dataset in its original file layout."""

from pathlib import Path

from psymtl import logs, sources

with logs.to_file(snakemake.log[0]) as log:
    columns = Path(snakemake.input.columns).read_text().split()
    sources.fetch(snakemake.wildcards.dataset, snakemake.params.source,
                  snakemake.output[0], dreaddit_columns=columns,
                  dataset_kind=snakemake.params.source["dataset_kind"])
    log.info("fetched %s into %s", snakemake.wildcards.dataset, snakemake.output[0])
