"""Train one study condition at one seed."""

import gc
from pathlib import Path

from psymtl import experiment, logs, model_card
from psymtl.tasks import TaskSet

with logs.to_file(snakemake.log[0]) as log:
    p = snakemake.params
    inputs: dict[str, dict[str, str]] = {}
    for key, path in snakemake.input.items():
        dataset, kind = key.split("__")
        inputs.setdefault(dataset, {})[kind] = path
    adapted = inputs.pop("encoder", {}).get("dir")  # the MLM-adapted encoder of rule mlm_adapt
    run = experiment.RunSettings.from_settings(p.settings, p.seed, TaskSet.from_specs(p.tasks),
                                               encoder_path=adapted)
    summary = experiment.run(run, inputs, Path(snakemake.output.predictions).parent,
                             threads=snakemake.threads, save_to=snakemake.output.get("model"))
    if snakemake.output.get("model"):  # a saved run: its Hub model card
        w = snakemake.wildcards
        model_card.write_readme(snakemake.output.model, snakemake.output.metrics,
                                snakemake.output.summary, p.card, w.study, w.condition,
                                p.health)
    log.info("best dev score %.4f at epoch %d; %.1f examples/s", summary["best"],
             summary["best_epoch"], summary["train_examples_per_s"])
# The interpreter's last garbage collection would walk every object that torch and its
# imports made (about 0.5 s of CPU a job, 44 jobs in the default run): freeze them instead.
gc.freeze()
