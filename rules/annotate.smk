# Study A: LLM (or offline) annotation of the cancer posts, through a persistent cache that
# lives outside results/ so that no rerun ever pays twice for an answer.


rule annotate:
    input:
        data=f"{RESULTS}/data/cancer.parquet",
        prompt=config["annotation"]["prompt"],
        schema=config["annotation"]["schema"],
        labels=config["annotation"]["local"]["labels"],
    output:
        annotations=f"{RESULTS}/annotations/cancer.parquet",
        usage=f"{RESULTS}/annotations/cancer.usage.json",
        failures=f"{RESULTS}/annotations/cancer.failures.csv",
    params:
        backend=annotation_backend(),
        cache=config["annotation"]["cache"],
        max_failure_rate=config["annotation"]["max_failure_rate"],
    threads: config.get("threads_per_job", 1)
    conda:
        "../envs/psymtl.yaml"
    benchmark:
        f"{RESULTS}/benchmarks/annotate/cancer.tsv"
    log:
        f"{RESULTS}/logs/annotate/cancer.log",
    script:
        "../scripts/annotate.py"
