"""Assign every row of one dataset to train/dev/test."""

import pandas as pd

from psymtl import logs, splits
from psymtl.io import write_parquet

with logs.to_file(snakemake.log[0]) as log:  # noqa: F821
    p = snakemake.params  # noqa: F821
    df = pd.read_parquet(snakemake.input[0])  # noqa: F821
    dataset = snakemake.wildcards.dataset  # noqa: F821
    out = splits.assign(df, splits.STRATIFY[dataset], p.seed, p.dev_fraction, tuple(p.ratios),
                        name=p.origin or snakemake.input[0],  # noqa: F821
                        group=splits.GROUP.get(dataset))
    log.info("split sizes: %s", out["split"].value_counts().to_dict())
    write_parquet(out, snakemake.output[0])  # noqa: F821
