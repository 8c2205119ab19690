# Metrics of one run from its predictions.


rule evaluate:
    input:
        f"{RESULTS}/{{study}}/{{condition}}/seed{{seed}}/predictions.parquet",
    output:
        f"{RESULTS}/{{study}}/{{condition}}/seed{{seed}}/metrics.json",
    params:
        tasks=task_specs(),
    conda:
        "../envs/psymtl.yaml"
    benchmark:
        f"{RESULTS}/benchmarks/evaluate/{{study}}/{{condition}}/seed{{seed}}.tsv"
    log:
        f"{RESULTS}/logs/evaluate/{{study}}/{{condition}}/seed{{seed}}.log",
    script:
        "../scripts/evaluate.py"
