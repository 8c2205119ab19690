"""The merged configuration and the complete settings of one condition.

Merging works the same way at every level, as Snakemake merges config files: mappings are
merged key by key at any depth, lists and scalars are replaced. The workflow's config is
``config.yaml``, then each ``--configfile`` in order; a condition's settings are
``training``, then ``studies.<S>.training``, then the condition's own keys.

Two systems of a declared comparison must differ only in what the comparison is about
(its ``about`` keys): :func:`check_comparisons` names every other key that differs.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from psymtl.config import ConfigError


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``: mappings merged key by key, anything else replaced."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load(configfiles: Iterable[str | Path] = (), workdir: str | Path = ".") -> dict[str, Any]:
    """The config Snakemake builds from ``config.yaml`` and ``--configfile`` files, checked
    against the schema, with the schema's defaults filled in."""
    import yaml

    from psymtl.config import check

    workdir = Path(workdir)
    config: dict[str, Any] = {}
    for f in [workdir / "config.yaml", *(Path(c) for c in configfiles)]:
        path = f if f.is_absolute() or f.exists() else workdir / f
        config = merge(config, yaml.safe_load(path.read_text()) or {})
    schema = workdir / "schemas" / "config.schema.yaml"
    check(config, schema)
    return config


SWEPT = "~"  # <condition>~<dotted setting>=<value>: one value of a condition's sweep


def condition(config: Mapping[str, Any], study: str, name: str) -> dict[str, Any]:
    """The complete settings of condition ``name`` of ``study`` (a swept name,
    ``double_encoders~weighting.weights.stress=0.1``, is its condition with that one
    setting replaced). ``sweep`` itself is not a setting: declaring or extending a sweep
    leaves the condition's own runs as they are."""
    base, _, swept = name.partition(SWEPT)
    try:
        s = config["studies"][study]
        own = dict(s["conditions"][base])
    except KeyError:
        known = [f"{st}/{c}" for st, v in config.get("studies", {}).items()
                 for c in v.get("conditions", {})]
        raise ConfigError(f"no condition {study}/{name}; known: {known}") from None
    sweep = own.pop("sweep", None) or {}
    out = merge(merge(config["training"], s.get("training", {})), own)
    if swept:
        key, _, text = swept.partition("=")
        values = {value_name(v): v for v in sweep.get(key, [])}
        if text not in values:
            raise ConfigError(f"no value {text!r} in studies.{study}.conditions.{base}.sweep"
                              f".{key}; declared: {list(values)}")
        set_dotted(out, key, values[text])
    return out


def value_name(value: Any) -> str:
    """A swept value as it appears in a run directory's name."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def set_dotted(d: dict[str, Any], key: str, value: Any) -> None:
    """Set ``a.b.c`` in nested mappings, creating levels as needed."""
    *parents, leaf = key.split(".")
    for k in parents:
        d = d.setdefault(k, {})
    d[leaf] = copy.deepcopy(value)


def get_dotted(d: Mapping[str, Any], key: str) -> Any:
    for k in key.split("."):
        if not isinstance(d, Mapping) or k not in d:
            raise KeyError(key)
        d = d[k]
    return d


def sweeps(config: Mapping[str, Any], study: str) -> list[dict[str, Any]]:
    """Every sweep declared in ``study``: condition, setting, the values in order, the run
    name of each value (the condition itself for its own value: never trained twice), and
    the condition's own value."""
    out = []
    for cond, spec in config["studies"][study]["conditions"].items():
        base = condition(config, study, cond)
        for key, values in (spec.get("sweep") or {}).items():
            own = get_dotted(base, key)
            out.append({"study": study, "condition": cond, "setting": key,
                        "values": list(values), "own": own,
                        "runs": [cond if v == own and type(v) is type(own)
                                 else f"{cond}{SWEPT}{key}={value_name(v)}" for v in values]})
    return out


def conditions(config: Mapping[str, Any], study: str) -> list[str]:
    """The study's conditions, then one per swept value (each its own run directory)."""
    own = list(config["studies"][study]["conditions"])
    extra = [r for sw in sweeps(config, study) for r in sw["runs"] if r not in own]
    return own + list(dict.fromkeys(extra))


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys (``model_args.pooling``); other values as they are."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out |= flatten(v, f"{key}.")
        else:
            out[key] = v
    return out


def differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Dotted key -> (value in a, value in b) for every setting that differs."""
    fa, fb = flatten(a), flatten(b)
    return {k: (fa.get(k), fb.get(k)) for k in sorted(fa.keys() | fb.keys())
            if fa.get(k) != fb.get(k)}


def covered(key: str, about: Iterable[str]) -> bool:
    """Whether ``key`` is one of ``about`` or nested under one of them."""
    return any(key == a or key.startswith(f"{a}.") for a in about)


def check(config: Mapping[str, Any]) -> None:
    """What the schema cannot see, before any job runs: the datasets and their tasks, every
    condition's merged settings naming known tasks, the studies to run, the MLM corpus, and
    no confounded comparison."""
    from psymtl import datasets

    try:
        known = datasets.tasks(config["datasets"])
    except (KeyError, ValueError) as exc:
        raise ConfigError(str(exc).strip("'\"")) from None
    problems = [f"{where}.sweep: a sweep belongs to one condition" for where, t in
                [("training", config["training"]), *((f"studies.{st}.training", s.get("training"))
                                                      for st, s in config["studies"].items())]
                if t and "sweep" in t]
    for st, s in config["studies"].items():
        for c in s["conditions"]:
            cond = condition(config, st, c)
            if not cond.get("tasks"):
                problems.append(f"studies.{st}.conditions.{c}: no `tasks` (set them on the "
                                "condition or in the study's `training`)")
            for t in [*cond.get("tasks", []), *cond.get("pretrain_tasks", [])]:
                if t not in known:
                    problems.append(f"studies.{st}.conditions.{c}.tasks: unknown task {t!r}; "
                                    f"the configured datasets have {sorted(known)}")
            longest = max([cond.get("max_length") or 0, *(
                v for v in ((s["conditions"][c].get("sweep") or {}).get("max_length") or [])
                if isinstance(v, int))])
            if longest > config["tokenize"]["max_length"]:
                problems.append(f"studies.{st}.conditions.{c}.max_length: {longest} tokens, "
                                "longer than the token cache (tokenize.max_length: "
                                f"{config['tokenize']['max_length']}); raise that")
            chosen = (cond.get("select") or {}).get("task")
            if chosen not in (None, "all", *cond.get("tasks", [])):
                problems.append(f"studies.{st}.conditions.{c}.select.task: {chosen!r} is not "
                                f"one of the condition's tasks {cond.get('tasks', [])} (or `all`)")
            for key, values in (s["conditions"][c].get("sweep") or {}).items():
                try:
                    get_dotted(condition(config, st, c), key)
                except KeyError:
                    problems.append(f"studies.{st}.conditions.{c}.sweep: {key!r} is not a setting "
                                    "of that condition (a dotted key of `psymtl settings`)")
                if len({value_name(v) for v in values}) != len(values):
                    problems.append(f"studies.{st}.conditions.{c}.sweep.{key}: repeated values")
    for st in config.get("run_studies") or []:
        if st not in config["studies"]:
            problems.append(f"run_studies: {st!r} is not a study; known: "
                            f"{sorted(config['studies'])}")
    problems += _check_saved(config)
    if config["mlm"]["dataset"] not in config["datasets"]:
        problems.append(f"mlm.dataset: {config['mlm']['dataset']!r} is not a configured dataset")
    if problems:
        raise ConfigError("\n".join(problems))
    check_comparisons(config)


def check_comparisons(config: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` naming, for each declared comparison, the settings in which
    its two systems differ beyond what the comparison is about."""
    problems = []
    for i, comp in enumerate(config["stats"]["comparisons"]):
        a = condition(config, comp["study"], comp["a"])
        b = condition(config, comp["study"], comp["b"])
        extra = {k: v for k, v in differences(a, b).items() if not covered(k, comp["about"])}
        if extra:
            diff = "; ".join(f"{k}: {va!r} vs {vb!r}" for k, (va, vb) in extra.items())
            problems.append(f"  - stats.comparisons[{i}] ({comp['study']}: {comp['a']} vs "
                            f"{comp['b']}, about {comp['about']}) also differs in {diff}")
    if problems:
        raise ConfigError("confounded comparisons: the two systems differ in more than the "
                          "comparison is about (align the settings, or add the key to "
                          "`about` if the difference is the point):\n" + "\n".join(problems))


def saved(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(study, condition) pairs whose trained models are kept (``models.save``)."""
    return [tuple(x.split("/", 1)) for x in (config.get("models") or {}).get("save", [])]


def _check_saved(config: Mapping[str, Any]) -> list[str]:
    problems = []
    pairs = saved(config)
    for st, c in pairs:
        if c not in config["studies"].get(st, {}).get("conditions", {}):
            problems.append(f"models.save: no condition {st}/{c}")
    # the workflow matches saved runs by study and by condition: no other pair may match both
    studies, conds = {st for st, _ in pairs}, {c for _, c in pairs}
    for st in studies:
        for c in conds & set(config["studies"].get(st, {}).get("conditions", {})):
            if (st, c) not in pairs:
                problems.append(f"models.save: also save {st}/{c} (a saved study and a saved "
                                "condition name meet there), or rename that condition")
    for x in (config.get("predict") or {}).get("models") or []:
        if tuple(x.split("/", 1)) not in pairs:
            problems.append(f"predict.models: {x} is not in models.save (only saved models "
                            "can score posts)")
    return problems
