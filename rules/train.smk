# Masked-LM domain adaptation (a rule of its own; its checkpoint feeds the downstream jobs),
# then one training job per study, condition and seed (its predictions and their metrics).


rule mlm_adapt:
    input:
        data=lambda w: f"{RESULTS}/data/{config['mlm']['dataset']}.parquet",
        split=lambda w: f"{RESULTS}/splits/{config['mlm']['dataset']}.parquet",
    output:
        directory(f"{RESULTS}/mlm/{{encoder}}"),
    params:
        encoder=lambda w: encoder_specs()[w.encoder],
        corpus=config["mlm"].get("corpus"),
        settings={
            **{k: v for k, v in config["mlm"].items() if k not in ("corpus", "dataset")},
            "device": config["training"]["device"],
            "attn_implementation": config["training"]["attn_implementation"],
        },
    threads: config.get("threads_per_job", 1)
    resources:
        gpu=config["gpus_per_job"],
    conda:
        "../envs/psymtl.yaml"
    benchmark:
        f"{RESULTS}/benchmarks/mlm_adapt/{{encoder}}.tsv"
    log:
        f"{RESULTS}/logs/mlm/{{encoder}}.log",
    script:
        "../scripts/mlm_adapt.py"


rule train:
    input:
        unpack(train_inputs),
    output:
        predictions=f"{RESULTS}/{{study}}/{{condition}}/seed{{seed}}/predictions.parquet",
        metrics=f"{RESULTS}/{{study}}/{{condition}}/seed{{seed}}/metrics.json",
        log=f"{RESULTS}/{{study}}/{{condition}}/seed{{seed}}/train_log.csv",
        summary=f"{RESULTS}/{{study}}/{{condition}}/seed{{seed}}/train_summary.json",
    params:
        settings=lambda w: condition_settings(w.study, w.condition),
        seed=lambda w: int(w.seed),
        tasks=task_specs(),
    threads: config.get("threads_per_job", 1)
    resources:
        gpu=config["gpus_per_job"],
    conda:
        "../envs/psymtl.yaml"
    benchmark:
        f"{RESULTS}/benchmarks/train/{{study}}/{{condition}}/seed{{seed}}.tsv"
    log:
        f"{RESULTS}/logs/train/{{study}}/{{condition}}/seed{{seed}}.log",
    script:
        "../scripts/train.py"


# Conditions in `models.save` keep their trained model (psymtl.saved) beside their results,
# with its Hub model card (psymtl.model_card).
if SAVED:

    use rule train as train_saved with:
        params:
            card=lambda w: card_datasets(w.study, w.condition),  # model/README.md (rules/predict.smk)
            health=config["health"],  # the card's collapse judgement (a threshold edit rewrites it)
        output:
            predictions=f"{RESULTS}/{{study}}/{{condition}}/seed{{seed}}/predictions.parquet",
            metrics=f"{RESULTS}/{{study}}/{{condition}}/seed{{seed}}/metrics.json",
            log=f"{RESULTS}/{{study}}/{{condition}}/seed{{seed}}/train_log.csv",
            summary=f"{RESULTS}/{{study}}/{{condition}}/seed{{seed}}/train_summary.json",
            model=directory(f"{RESULTS}/{{study}}/{{condition}}/seed{{seed}}/model"),
        wildcard_constraints:
            study="|".join(sorted({st for st, _ in SAVED})),
            condition="|".join(sorted({c for _, c in SAVED})),

    ruleorder: train_saved > train
