# Shared helpers: config validation, the run matrix, and input functions.
from functools import cache
from pathlib import Path

from psymtl import datasets, encoders, settings, tasks as T
from psymtl.checksums import tree_digest
from psymtl.config import check

check(config, Path(workflow.basedir, "schemas", "config.schema.yaml"))  # message per key; defaults
settings.check(config)  # datasets, tasks, conditions complete; comparisons not confounded
encoders.check_conditions({  # each encoder can run its model (architecture, attention)
    f"studies.{st}.conditions.{c}": settings.condition(config, st, c)
    for st in config["studies"] for c in config["studies"][st]["conditions"]})

RESULTS = "results"
DATASETS = tuple(config["datasets"])
STUDIES = tuple(config["run_studies"] or config["studies"])  # the studies this run makes
NEVER = "(?!x)x"  # a wildcard constraint no value matches
SAVED = [(st, c) for st, c in settings.saved(config) if st in STUDIES]  # models kept


def annotated_datasets():
    """Datasets whose targets come from LLM annotation (Study A's cancer posts)."""
    return [d for d, spec in config["datasets"].items() if datasets.kind(d, spec).ANNOTATED]


wildcard_constraints:
    study="|".join(STUDIES),
    condition=r"[A-Za-z0-9_]+(~[A-Za-z0-9_.]+=[A-Za-z0-9_.+-]+)?",  # ~: one value of a sweep
    setting=r"[A-Za-z0-9_.]+",
    seed=r"\d+",
    dataset="|".join(DATASETS),


@cache
def dataset_source(dataset):
    """The one source section a dataset uses (so edits to unused sections rerun nothing).
    A local path carries the digest of its content: editing the file or folder in place
    reruns fetch and what depends on it; touching it does not."""
    d = config["datasets"][dataset]
    kind = d["source"]
    spec = {"kind": kind, "manual": d.get("manual", ""), "dataset_kind": d.get("kind", dataset)}
    if kind == "path":
        return spec | {"path": d["path"], "sha256": tree_digest(d["path"])}
    return spec | d[kind]


def annotation_backend():
    """The settings of the chosen annotation backend only (plus its name)."""
    a = config["annotation"]
    return {"backend": a["backend"], **a[a["backend"]]}


@cache  # the config does not change while the DAG is built
def condition_settings(study, condition):
    """The complete settings of one condition (`psymtl.settings`: merged key by key)."""
    return settings.condition(config, study, condition)


@cache
def config_tasks():
    """Every task of the configured datasets, by name."""
    return datasets.tasks(config["datasets"])


@cache
def task_specs():
    """The tasks as plain data: jobs that read tasks get them through `params`."""
    return {name: T.spec(t) for name, t in config_tasks().items()}


def dataset_kind(dataset):
    return datasets.kind(dataset, config["datasets"][dataset])


def condition_datasets(study, condition):
    cond = condition_settings(study, condition)
    return sorted({config_tasks()[n].dataset for n in cond["tasks"] + cond.get("pretrain_tasks", [])})


@cache
def study_conditions(study):
    """The study's conditions, then one per value of its sweeps (`psymtl.settings`)."""
    return settings.conditions(config, study)


@cache
def sweeps():
    """Every sweep of the studies this run makes."""
    return [sw for study in STUDIES for sw in settings.sweeps(config, study)]


def runs():
    """Every (study, condition, seed) this run makes."""
    return [
        (study, cond, seed)
        for study in STUDIES
        for cond in study_conditions(study)
        for seed in config["seeds"]
    ]


def study_runs(study):
    """The runs of the study's own conditions (a sweep's values have their own figure), in
    one order whatever the order of the config files' keys."""
    return sorted((st, c, s) for st, c, s in runs() if st == study and settings.SWEPT not in c)


def sweep_of(wildcards):
    """The sweep a `sweep` job draws."""
    for sw in sweeps():
        if (sw["study"], sw["condition"], sw["setting"]) == (wildcards.study, wildcards.condition, wildcards.setting):
            return sw
    raise ValueError(f"no sweep {wildcards.setting} in {wildcards.study}/{wildcards.condition}")


def run_dir(study, condition, seed):
    return f"{RESULTS}/{study}/{condition}/seed{seed}"


def tokenizer_key(spec):
    """Token files are shared by every encoder with the same tokenizer."""
    return encoders.slug(spec)


def encoder_specs():
    specs = {config["training"]["encoder"]}
    for study in STUDIES:
        specs |= {condition_settings(study, c)["encoder"] for c in study_conditions(study)}
    return {tokenizer_key(s): s for s in specs}


def mlm_dir(encoder):
    return f"{RESULTS}/mlm/{tokenizer_key(encoder)}"


def train_inputs(wildcards):
    cond = condition_settings(wildcards.study, wildcards.condition)
    key = tokenizer_key(cond["encoder"])  # an adapted encoder keeps its base tokenizer
    inputs = {"encoder__dir": mlm_dir(cond["encoder"])} if cond.get("mlm_adapt") else {}
    for ds in condition_datasets(wildcards.study, wildcards.condition):
        inputs[f"{ds}__data"] = f"{RESULTS}/data/{ds}.parquet"
        inputs[f"{ds}__split"] = f"{RESULTS}/splits/{ds}.parquet"
        inputs[f"{ds}__tokens"] = f"{RESULTS}/tokens/{ds}/{key}.parquet"
        inputs[f"{ds}__tokens_info"] = f"{RESULTS}/tokens/{ds}/{key}.json"
        if ds in annotated_datasets():  # e.g. Study A's targets and augmentation
            inputs[f"{ds}__annotations"] = f"{RESULTS}/annotations/{ds}.parquet"
    return inputs


def conditions_where(predicate):
    """(study, condition) pairs whose merged settings satisfy ``predicate``."""
    return [
        (study, cond)
        for study in STUDIES
        for cond in config["studies"][study]["conditions"]
        if predicate(condition_settings(study, cond))
    ]


def uses_attention_fusion(settings):
    return settings.get("model_args", {}).get("fusion") == "attention"


def learns_loss_weights(settings):
    w = settings.get("weighting", {})
    return w.get("kind") == "kendall" or (w.get("kind") == "hierarchical" and w.get("learn"))


def scores_emotion(settings):
    """Study 2 models: trained on the human emotion labels or the LLM distribution."""
    return bool({"emotion", "emotion_soft"} & set(settings["tasks"]))


def figures():
    """Every figure the config calls for."""
    out = [f"{RESULTS}/figures/{study}_metrics.png" for study in STUDIES]
    if any(st == "A" for st, _ in conditions_where(scores_emotion)):
        out.append(f"{RESULTS}/figures/A_calibration.png")
    out += [
        f"{RESULTS}/figures/{study}_{cond}_attention.png"
        for study, cond in conditions_where(uses_attention_fusion)
    ]
    out += [
        f"{RESULTS}/figures/{study}_{cond}_loss_weights.png"
        for study, cond in conditions_where(learns_loss_weights)
    ]
    out += [f"{RESULTS}/sweeps/{sw['study']}/{sw['condition']}/{sw['setting']}.png" for sw in sweeps()]
    return out


def comparisons():
    """The declared comparisons of the studies this run makes."""
    return [c for c in config["stats"]["comparisons"] if c["study"] in STUDIES]


def compared_runs():
    """Every seed of every condition named in a comparison, as {study, condition, seed}."""
    systems = {(c["study"], c[k]) for c in comparisons() for k in ("a", "b")}
    return [{"study": st, "condition": c, "seed": seed}
            for st, c in sorted(systems) for seed in config["seeds"]]


def posts_to_score(wildcards):
    """`snakemake predict`: the scored posts of every model in predict.models."""
    if not config["predict"]["posts"]:
        raise ValueError(
            "predict.posts: name the CSV or parquet file of posts (id, text) to score, e.g. "
            "--configfile mine.yaml with `predict: {posts: my_posts.csv}` (README: scoring posts)"
        )
    chosen = config["predict"]["models"] or [f"{st}/{c}" for st, c in SAVED]
    return [f"{RESULTS}/predict/{m}.csv" for m in chosen]


def card_datasets(study, condition):
    """The data sets a condition trains on, as its model cards name them: kind and source."""
    return {
        d: {"kind": dataset_kind(d).NAME, "source": config["datasets"][d]["source"]}
        for d in condition_datasets(study, condition)
    }
