# Study A: LLM (or offline) annotation of an annotated dataset's posts (the cancer posts),
# through a persistent cache outside results/, so that no rerun ever pays twice for an answer.


rule annotate:
    wildcard_constraints:
        dataset="|".join(annotated_datasets()) or NEVER,
    input:
        data=f"{RESULTS}/data/{{dataset}}.parquet",
        prompt=config["annotation"]["prompt"],
        schema=config["annotation"]["schema"],
        labels=config["annotation"]["local"]["labels"],
    output:
        annotations=f"{RESULTS}/annotations/{{dataset}}.parquet",
        usage=f"{RESULTS}/annotations/{{dataset}}.usage.json",
        failures=f"{RESULTS}/annotations/{{dataset}}.failures.csv",
    params:
        backend=annotation_backend(),
        cache=config["annotation"]["cache"],
        max_failure_rate=config["annotation"]["max_failure_rate"],
    threads: config.get("threads_per_job", 1)
    conda:
        "../envs/psymtl.yaml"
    benchmark:
        f"{RESULTS}/benchmarks/annotate/{{dataset}}.tsv"
    log:
        f"{RESULTS}/logs/annotate/{{dataset}}.log",
    script:
        "../scripts/annotate.py"
