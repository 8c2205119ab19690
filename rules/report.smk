# Tables aggregated over seeds.


rule tables:
    input:
        metrics=[f"{run_dir(*r)}/metrics.json" for r in runs()],
        paper="resources/paper_values.yaml",
    output:
        long=f"{RESULTS}/tables/metrics_long.csv",
        csv=f"{RESULTS}/tables/summary.csv",
        md=f"{RESULTS}/tables/summary.md",
        paper_csv=f"{RESULTS}/tables/paper_comparison.csv",
        paper_md=f"{RESULTS}/tables/paper_comparison.md",
        paper_tex=f"{RESULTS}/tables/paper_comparison.tex",
    conda:
        "../envs/psymtl.yaml"
    log:
        f"{RESULTS}/logs/tables.log",
    script:
        "../scripts/tables.py"
