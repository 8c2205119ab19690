# Tables aggregated over seeds.


rule tables:
    input:
        [f"{run_dir(*r)}/metrics.json" for r in runs()],
    output:
        long=f"{RESULTS}/tables/metrics_long.csv",
        csv=f"{RESULTS}/tables/summary.csv",
        md=f"{RESULTS}/tables/summary.md",
    conda:
        "../envs/psymtl.yaml"
    log:
        f"{RESULTS}/logs/tables.log",
    script:
        "../scripts/tables.py"
