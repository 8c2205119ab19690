"""Distribution of Attention Fusion weights by task and label."""

from psymtl import figures, logs

with logs.to_file(snakemake.log[0]):  # noqa: F821
    stats = figures.attention_weights(snakemake.input, snakemake.output.png)  # noqa: F821
    stats.to_csv(snakemake.output.csv)  # noqa: F821
