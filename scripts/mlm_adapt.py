"""Adapt an encoder to in-domain text with masked-LM training."""

import pandas as pd

from psymtl import logs, mlm

with logs.to_file(snakemake.log[0]):
    p = snakemake.params
    if p.corpus:
        texts = mlm.read_corpus(p.corpus)
    else:  # default: the training split's texts (never dev or test)
        df = pd.read_parquet(snakemake.input.data).merge(
            pd.read_parquet(snakemake.input.split), on="id")
        texts = df.loc[df["split"] == "train", "text"].tolist()
    mlm.adapt(texts, p.encoder, snakemake.output[0], threads=snakemake.threads,
              **p.settings)
