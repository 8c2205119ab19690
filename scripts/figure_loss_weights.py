"""Learned loss-weight trajectories of one condition, over its seeds."""

from psymtl import figures, logs

with logs.to_file(snakemake.log[0]):
    w = snakemake.wildcards
    figures.weight_trajectories(snakemake.input, snakemake.output[0],
                                f"Study {w.study}, {w.condition}: learned loss weights")
