# One split assignment per dataset, written once and read by every training job, and its
# report: rows per split and, for grouped data (Dreaddit's posts, a csv's columns.group),
# groups per split.


rule split:
    input:
        f"{RESULTS}/data/{{dataset}}.parquet",
    output:
        split=f"{RESULTS}/splits/{{dataset}}.parquet",
        report=f"{RESULTS}/splits/{{dataset}}.report.json",
    params:
        seed=config["splits"]["seed"],
        dev_fraction=config["splits"]["dev_fraction"],
        ratios=config["splits"]["ratios"],
        origin=lambda w: dataset_source(w.dataset).get("path"),
        stratify=lambda w: dataset_kind(w.dataset).stratify(
            datasets.options(w.dataset, config["datasets"][w.dataset])
        ),
        group=lambda w: datasets.group(w.dataset, config["datasets"][w.dataset]),
    conda:
        "../envs/psymtl.yaml"
    benchmark:
        f"{RESULTS}/benchmarks/split/{{dataset}}.tsv"
    log:
        f"{RESULTS}/logs/split/{{dataset}}.log",
    script:
        "../scripts/split.py"
