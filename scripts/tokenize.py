"""Tokenise one dataset with one tokenizer (content ids; specials are added per batch)."""

import pandas as pd

from psymtl import encoders, logs, tokens
from psymtl.io import write_json, write_parquet

with logs.to_file(snakemake.log[0]) as log:
    p = snakemake.params
    df = pd.read_parquet(snakemake.input[0], columns=["id", "text"])
    out, info = tokens.tokenize_frame(df, encoders.load_tokenizer(p.encoder), p.max_length)
    log.info("%d of %d texts truncated to %d tokens", info["truncated"], info["rows"],
             p.max_length)
    write_parquet(out, snakemake.output.tokens)
    write_json(info | {"encoder": p.encoder}, snakemake.output.info)
