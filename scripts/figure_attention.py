"""Distribution of Attention Fusion weights by task and label."""

from psymtl import figures, logs

with logs.to_file(snakemake.log[0]):
    stats = figures.attention_weights(snakemake.input, snakemake.output.png)
    stats.to_csv(snakemake.output.csv)
