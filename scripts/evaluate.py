"""Metrics of one run, per split and task."""

import pandas as pd

from psymtl import evaluation, logs
from psymtl import tasks as T
from psymtl.io import write_json

with logs.to_file(snakemake.log[0]):
    T.use(snakemake.params.tasks)
    pred = pd.read_parquet(snakemake.input[0])
    write_json(evaluation.evaluate(pred), snakemake.output[0])
