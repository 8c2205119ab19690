"""The model card of a saved condition."""

from psymtl import logs, model_card

with logs.to_file(snakemake.log[0]):
    w = snakemake.wildcards
    text = model_card.render(w.study, w.condition, snakemake.input.summaries,
                             snakemake.input.metrics, snakemake.input.models,
                             snakemake.params.datasets, snakemake.params.health)
    with open(snakemake.output[0], "w") as f:
        f.write(text)
