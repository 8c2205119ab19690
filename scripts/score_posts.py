"""Score a user's posts with the ensemble of a saved condition's seeds."""

from psymtl import logs, machine, saved
from psymtl.io import write_json
from psymtl.trainer import pick_device

with logs.to_file(snakemake.log[0]) as log:
    import torch

    p = snakemake.params
    torch.set_num_threads(snakemake.threads)
    machine.keep_freed_memory()  # this job's process only (psymtl.machine)
    posts = saved.read_posts(snakemake.input.posts)
    table, provenance = saved.score(snakemake.input.models, posts, p.batch_tokens,
                                    pick_device(p.device))
    table.to_csv(snakemake.output.csv, index=False)
    write_json(provenance | {"input": p.posts}, snakemake.output.provenance)
    log.info("scored %d posts with %d runs", len(table), len(snakemake.input.models))
