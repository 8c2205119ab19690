# PsyMTL: multi-task and distributional learning on mental-health text, from raw data to report.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/annotate.smk"
include: "rules/split.smk"
include: "rules/tokenize.smk"
include: "rules/train.smk"
include: "rules/report.smk"
include: "rules/predict.smk"


# On a cluster these run where Snakemake runs: `fetch` needs the internet, which compute
# nodes often lack.
localrules:
    all,
    fetch,
    predict,


rule all:
    default_target: True
    input:
        rules.tables.output,
        rules.stats.output,
        figures(),
        [f"{RESULTS}/{st}/{c}/MODEL_CARD.md" for st, c in SAVED],
