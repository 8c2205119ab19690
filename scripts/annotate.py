"""Annotate the cancer posts (cache first, then the configured backend)."""

import pandas as pd

from psymtl import logs
from psymtl.annotate import run
from psymtl.io import write_json, write_parquet

with logs.to_file(snakemake.log[0]) as log:
    p, i, o = snakemake.params, snakemake.input, snakemake.output
    df = pd.read_parquet(i.data, columns=["id", "text"])
    ann, report, failures = run.annotate(
        df, p.backend, prompt_path=i.prompt, schema_path=i.schema, labels_path=i.labels,
        cache_path=p.cache, threads=snakemake.threads)
    log.info("annotation report: %s", report)
    failures.to_csv(o.failures, index=False)
    rate = report["failed"] / max(report["posts"], 1)
    if rate > p.max_failure_rate:
        raise RuntimeError(f"{report['failed']} of {report['posts']} posts could not be "
                           f"annotated ({rate:.1%} > max_failure_rate {p.max_failure_rate}); "
                           f"reasons in {o.failures} and this log. Answers received so far "
                           "are cached: rerun to retry only the rest.")
    write_parquet(ann, o.annotations)
    write_json(report, o.usage)
