# One job per study, condition and seed.


rule train:
    input:
        unpack(train_inputs),
    output:
        predictions=f"{RESULTS}/{{study}}/{{condition}}/seed{{seed}}/predictions.parquet",
        log=f"{RESULTS}/{{study}}/{{condition}}/seed{{seed}}/train_log.csv",
        summary=f"{RESULTS}/{{study}}/{{condition}}/seed{{seed}}/train_summary.json",
    params:
        settings=lambda w: condition_settings(w.study, w.condition),
        seed=lambda w: int(w.seed),
    threads: config.get("threads_per_job", 1)
    conda:
        "../envs/psymtl.yaml"
    log:
        f"{RESULTS}/logs/train/{{study}}/{{condition}}/seed{{seed}}.log",
    script:
        "../scripts/train.py"
