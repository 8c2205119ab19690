# Saved models: a model card per saved condition (the seed ensemble's; each seed's model/
# folder carries its own Hub README.md, written by its training job), and `snakemake
# predict`: a user's posts scored by the ensemble of a saved condition's seeds.


rule model_card:
    input:
        metrics=lambda w: [f"{run_dir(w.study, w.condition, s)}/metrics.json" for s in config["seeds"]],
        summaries=lambda w: [
            f"{run_dir(w.study, w.condition, s)}/train_summary.json" for s in config["seeds"]
        ],
        models=lambda w: [f"{run_dir(w.study, w.condition, s)}/model" for s in config["seeds"]],
    output:
        f"{RESULTS}/{{study}}/{{condition}}/MODEL_CARD.md",
    params:
        datasets=lambda w: card_datasets(w.study, w.condition),
        health=config["health"],
    conda:
        "../envs/psymtl.yaml"
    log:
        f"{RESULTS}/logs/model_card/{{study}}/{{condition}}.log",
    script:
        "../scripts/model_card.py"


rule score_posts:
    input:
        posts=config["predict"]["posts"] or [],
        models=lambda w: [f"{run_dir(w.study, w.condition, s)}/model" for s in config["seeds"]],
    output:
        csv=f"{RESULTS}/predict/{{study}}/{{condition}}.csv",
        provenance=f"{RESULTS}/predict/{{study}}/{{condition}}.json",
    params:
        posts=config["predict"]["posts"],
        batch_tokens=config["predict"]["batch_tokens"],
        device=config["training"]["device"],
    threads: config.get("threads_per_job", 1)
    resources:
        gpu=config["gpus_per_job"],
    conda:
        "../envs/psymtl.yaml"
    benchmark:
        f"{RESULTS}/benchmarks/score_posts/{{study}}/{{condition}}.tsv"
    log:
        f"{RESULTS}/logs/predict/{{study}}/{{condition}}.log",
    script:
        "../scripts/score_posts.py"


rule predict:
    input:
        posts_to_score,
