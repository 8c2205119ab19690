# Raw data (download, local copy or synthetic) and ingestion into canonical parquet.


rule fetch:
    output:
        directory(f"{RESULTS}/raw/{{dataset}}"),
    input:
        columns="resources/dreaddit_columns.txt",
    params:
        source=lambda w: dataset_source(w.dataset),
    conda:
        "../envs/psymtl.yaml"
    benchmark:
        f"{RESULTS}/benchmarks/fetch/{{dataset}}.tsv"
    log:
        f"{RESULTS}/logs/fetch/{{dataset}}.log",
    script:
        "../scripts/fetch.py"


rule ingest:
    input:
        f"{RESULTS}/raw/{{dataset}}",
    output:
        data=f"{RESULTS}/data/{{dataset}}.parquet",
        report=f"{RESULTS}/data/{{dataset}}.report.json",
    params:
        kind=lambda w: dataset_kind(w.dataset).NAME,
        options=lambda w: datasets.options(w.dataset, config["datasets"][w.dataset]),
        origin=lambda w: dataset_source(w.dataset).get("path"),
    conda:
        "../envs/psymtl.yaml"
    benchmark:
        f"{RESULTS}/benchmarks/ingest/{{dataset}}.tsv"
    log:
        f"{RESULTS}/logs/ingest/{{dataset}}.log",
    script:
        "../scripts/ingest.py"
