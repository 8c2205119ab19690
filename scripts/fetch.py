"""Materialise one raw dataset in its original file layout."""

from pathlib import Path

from psymtl import logs, sources

with logs.to_file(snakemake.log[0]) as log:  # noqa: F821
    columns = Path(snakemake.input.columns).read_text().split()  # noqa: F821
    sources.fetch(snakemake.wildcards.dataset, snakemake.params.source,  # noqa: F821
                  snakemake.output[0], dreaddit_columns=columns)  # noqa: F821
    log.info("fetched %s into %s", snakemake.wildcards.dataset, snakemake.output[0])  # noqa: F821
