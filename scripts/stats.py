"""Significance and equivalence tests of the comparisons declared in config."""

from psymtl import logs, stats, tables
from psymtl.tasks import TaskSet

with logs.to_file(snakemake.log[0]) as log:
    p, inp, out = snakemake.params, snakemake.input, snakemake.output
    runs = [dict(r, metrics=m, predictions=q, summary=s) for r, m, q, s in
            zip(p.runs, inp.metrics, inp.predictions, inp.summaries, strict=True)]
    table = stats.table(p.comparisons, runs, p.settings, p.health, TaskSet.from_specs(p.tasks))
    for _, row in table.iterrows():
        log.info("%s vs %s on %s/%s: %s", row["a"], row["b"], row["task"], row["metric"],
                 row["verdict"])
    table.to_csv(out.csv, index=False)
    table.to_latex(out.tex, index=False, float_format="%.3f", na_rep="--")
    with open(out.md, "w") as f:
        f.write(tables.significance_markdown(table, p.settings))
