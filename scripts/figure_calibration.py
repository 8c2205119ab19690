"""Reliability of Study A's emotion models (soft vs hard labels) against the human labels."""

from psymtl import figures, logs

with logs.to_file(snakemake.log[0]):
    by_cond: dict[str, list[str]] = {}
    for f in snakemake.input:
        by_cond.setdefault(f.split("/")[-3], []).append(f)
    table = figures.reliability(by_cond, "emotion", snakemake.output.png)
    table.to_csv(snakemake.output.csv, index=False)
