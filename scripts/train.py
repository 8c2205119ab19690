"""Train one study condition at one seed."""

from psymtl import experiment, logs

with logs.to_file(snakemake.log[0]) as log:  # noqa: F821
    inputs: dict[str, dict[str, str]] = {}
    for key, path in snakemake.input.items():  # noqa: F821
        dataset, kind = key.split("__")
        inputs.setdefault(dataset, {})[kind] = path
    settings = dict(snakemake.params.settings)  # noqa: F821
    if "encoder" in inputs:  # the MLM-adapted encoder built by rule mlm_adapt
        settings["encoder_path"] = inputs.pop("encoder")["dir"]
    summary = experiment.run(settings, snakemake.params.seed, inputs,  # noqa: F821
                             snakemake.output.predictions.rsplit("/", 1)[0],  # noqa: F821
                             threads=snakemake.threads)  # noqa: F821
    log.info("best dev score %.4f at epoch %d; %.1f examples/s", summary["best"],
             summary["best_epoch"], summary["train_examples_per_s"])
