# Tables aggregated over seeds, and figures.


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


rule figure_attention:
    input:
        lambda w: [
            f"{run_dir(w.study, w.condition, seed)}/predictions.parquet"
            for seed in config["seeds"]
        ],
    output:
        png=f"{RESULTS}/figures/{{study}}_{{condition}}_attention.png",
        csv=f"{RESULTS}/figures/{{study}}_{{condition}}_attention.csv",
    conda:
        "../envs/psymtl.yaml"
    log:
        f"{RESULTS}/logs/figures/{{study}}_{{condition}}_attention.log",
    script:
        "../scripts/figure_attention.py"


rule figure_loss_weights:
    input:
        lambda w: [
            f"{run_dir(w.study, w.condition, seed)}/train_log.csv" for seed in config["seeds"]
        ],
    output:
        f"{RESULTS}/figures/{{study}}_{{condition}}_loss_weights.png",
    conda:
        "../envs/psymtl.yaml"
    log:
        f"{RESULTS}/logs/figures/{{study}}_{{condition}}_loss_weights.log",
    script:
        "../scripts/figure_loss_weights.py"
