# Tables aggregated over seeds, and figures.


rule tables:
    input:
        metrics=[f"{run_dir(*r)}/metrics.json" for r in runs()],
        paper="resources/paper_values.yaml",
    params:
        runs=[{"study": st, "condition": c, "seed": s} for st, c, s in runs()],
        health=config["health"],
    output:
        long=f"{RESULTS}/tables/metrics_long.csv",
        csv=report(
            f"{RESULTS}/tables/summary.csv",
            caption="../report/summary.rst",
            category="Tables",
        ),
        md=f"{RESULTS}/tables/summary.md",
        paper_csv=report(
            f"{RESULTS}/tables/paper_comparison.csv",
            caption="../report/paper_comparison.rst",
            category="Tables",
        ),
        paper_md=f"{RESULTS}/tables/paper_comparison.md",
        paper_tex=f"{RESULTS}/tables/paper_comparison.tex",
    conda:
        "../envs/psymtl.yaml"
    log:
        f"{RESULTS}/logs/tables.log",
    script:
        "../scripts/tables.py"


rule stats:
    input:
        metrics=[f"{run_dir(**r)}/metrics.json" for r in compared_runs()],
        predictions=[f"{run_dir(**r)}/predictions.parquet" for r in compared_runs()],
        summaries=[f"{run_dir(**r)}/train_summary.json" for r in compared_runs()],
    output:
        csv=report(
            f"{RESULTS}/tables/significance.csv",
            caption="../report/significance.rst",
            category="Tables",
        ),
        md=f"{RESULTS}/tables/significance.md",
        tex=f"{RESULTS}/tables/significance.tex",
    params:
        runs=compared_runs(),
        comparisons=comparisons(),
        tasks=task_specs(),
        settings={k: v for k, v in config["stats"].items() if k != "comparisons"},
        health=config["health"],
    conda:
        "../envs/psymtl.yaml"
    log:
        f"{RESULTS}/logs/stats.log",
    script:
        "../scripts/stats.py"


rule figure_attention:
    input:
        lambda w: [
            f"{run_dir(w.study, w.condition, seed)}/predictions.parquet"
            for seed in config["seeds"]
        ],
    output:
        png=report(
            f"{RESULTS}/figures/{{study}}_{{condition}}_attention.png",
            caption="../report/attention.rst",
            category="Figures",
            subcategory="Study {study}",
        ),
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
        report(
            f"{RESULTS}/figures/{{study}}_{{condition}}_loss_weights.png",
            caption="../report/loss_weights.rst",
            category="Figures",
            subcategory="Study {study}",
        ),
    conda:
        "../envs/psymtl.yaml"
    log:
        f"{RESULTS}/logs/figures/{{study}}_{{condition}}_loss_weights.log",
    script:
        "../scripts/figure_loss_weights.py"


rule figure_metrics:
    input:
        lambda w: [f"{run_dir(*r)}/metrics.json" for r in study_runs(w.study)],
    params:
        runs=lambda w: [{"study": st, "condition": c, "seed": s} for st, c, s in study_runs(w.study)],
        tasks=task_specs(),
        health=config["health"],
    output:
        report(
            f"{RESULTS}/figures/{{study}}_metrics.png",
            caption="../report/metrics.rst",
            category="Figures",
            subcategory="Study {study}",
        ),
    conda:
        "../envs/psymtl.yaml"
    log:
        f"{RESULTS}/logs/figures/{{study}}_metrics.log",
    script:
        "../scripts/figure_metrics.py"


rule figure_calibration:
    input:
        lambda w: [
            f"{run_dir('A', c, seed)}/predictions.parquet"
            for st, c in conditions_where(scores_emotion)
            if st == "A"
            for seed in config["seeds"]
        ],
    output:
        png=report(
            f"{RESULTS}/figures/A_calibration.png",
            caption="../report/calibration.rst",
            category="Figures",
            subcategory="Study A",
        ),
        csv=f"{RESULTS}/figures/A_calibration.csv",
    conda:
        "../envs/psymtl.yaml"
    log:
        f"{RESULTS}/logs/figures/A_calibration.log",
    script:
        "../scripts/figure_calibration.py"


rule sweep:
    input:
        lambda w: [f"{run_dir(w.study, c, s)}/metrics.json" for c in sweep_of(w)["runs"] for s in config["seeds"]],
    params:
        sweep=sweep_of,
        runs=lambda w: [
            {"study": w.study, "condition": c, "seed": s} for c in sweep_of(w)["runs"] for s in config["seeds"]
        ],
        tasks=task_specs(),
        health=config["health"],
    output:
        png=report(
            f"{RESULTS}/sweeps/{{study}}/{{condition}}/{{setting}}.png",
            caption="../report/sweep.rst",
            category="Sensitivity",
            subcategory="Study {study}",
        ),
        csv=report(
            f"{RESULTS}/sweeps/{{study}}/{{condition}}/{{setting}}.csv",
            caption="../report/sweep_table.rst",
            category="Sensitivity",
            subcategory="Study {study}",
        ),
    conda:
        "../envs/psymtl.yaml"
    log:
        f"{RESULTS}/logs/sweeps/{{study}}/{{condition}}/{{setting}}.log",
    script:
        "../scripts/sweep.py"
