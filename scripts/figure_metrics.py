"""Test metric per condition of one study, with confidence intervals over seeds."""

import pandas as pd

from psymtl import figures, logs

with logs.to_file(snakemake.log[0]):  # noqa: F821
    figures.metric_per_condition(pd.read_csv(snakemake.input[0]),  # noqa: F821
                                 snakemake.wildcards.study, snakemake.output[0])  # noqa: F821
