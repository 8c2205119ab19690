"""Learned loss-weight trajectories of one condition, over its seeds."""

from psymtl import figures, logs

with logs.to_file(snakemake.log[0]):  # noqa: F821
    w = snakemake.wildcards  # noqa: F821
    figures.weight_trajectories(snakemake.input, snakemake.output[0],  # noqa: F821
                                f"Study {w.study}, {w.condition}: learned loss weights")
