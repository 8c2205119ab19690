# Tokenise each dataset once per tokenizer; every run with that tokenizer reuses the ids.


rule tokenize:
    input:
        f"{RESULTS}/data/{{dataset}}.parquet",
    output:
        tokens=f"{RESULTS}/tokens/{{dataset}}/{{encoder}}.parquet",
        info=f"{RESULTS}/tokens/{{dataset}}/{{encoder}}.json",
    params:
        encoder=lambda w: encoder_specs()[w.encoder],
        max_length=config["tokenize"]["max_length"],
    conda:
        "../envs/psymtl.yaml"
    benchmark:
        f"{RESULTS}/benchmarks/tokenize/{{dataset}}/{{encoder}}.tsv"
    log:
        f"{RESULTS}/logs/tokenize/{{dataset}}/{{encoder}}.log",
    script:
        "../scripts/tokenize.py"
