"""Train one study condition at one seed."""

import gc
from pathlib import Path

from psymtl import experiment, logs, model_card
from psymtl import tasks as T

with logs.to_file(snakemake.log[0]) as log:
    p = snakemake.params
    T.use(p.tasks)
    inputs: dict[str, dict[str, str]] = {}
    for key, path in snakemake.input.items():
        dataset, kind = key.split("__")
        inputs.setdefault(dataset, {})[kind] = path
    settings = dict(p.settings)
    if "encoder" in inputs:  # the MLM-adapted encoder built by rule mlm_adapt
        settings["encoder_path"] = inputs.pop("encoder")["dir"]
    summary = experiment.run(settings, p.seed, inputs,
                             Path(snakemake.output.predictions).parent,
                             threads=snakemake.threads,
                             save_to=snakemake.output.get("model"))
    if snakemake.output.get("model"):  # a saved run: its Hub model card
        w = snakemake.wildcards
        model_card.write_readme(snakemake.output.model, snakemake.output.metrics,
                                snakemake.output.summary, p.card, w.study, w.condition)
    log.info("best dev score %.4f at epoch %d; %.1f examples/s", summary["best"],
             summary["best_epoch"], summary["train_examples_per_s"])
# The interpreter's last garbage collection would walk every object that torch and its
# imports made (about 0.5 s of CPU a job, 44 jobs in the default run): freeze them instead.
gc.freeze()
