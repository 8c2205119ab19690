"""Assign every row of one dataset to train/dev/test; report rows (and groups) per split."""

import pandas as pd

from psymtl import logs, splits
from psymtl.io import write_json, write_parquet

with logs.to_file(snakemake.log[0]) as log:
    p = snakemake.params
    df = pd.read_parquet(snakemake.input[0])
    out = splits.assign(df, p.stratify, p.seed, p.dev_fraction, tuple(p.ratios),
                        name=p.origin or snakemake.input[0], group=p.group)
    report = splits.report(df, out, p.group)
    log.info("split report: %s", report)
    write_parquet(out, snakemake.output.split)
    write_json(report, snakemake.output.report)
