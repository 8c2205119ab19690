"""Config checks with messages that name the offending key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match


class ConfigError(ValueError):
    pass


def _describe(err: ValidationError) -> str:
    if err.context:  # oneOf / anyOf: report the closest branch
        err = best_match(err.context)
    key = ".".join(str(p) for p in err.absolute_path) or "(top level)"
    return f"{key}: {err.message}"


def _fill_defaults(validator, properties, instance, schema):
    """``properties`` that first sets each missing property to its schema ``default`` (the
    jsonschema FAQ's recipe, as in ``snakemake.utils.validate``)."""
    if isinstance(instance, dict):
        for name, sub in properties.items():
            if "default" in sub:
                instance.setdefault(name, sub["default"])
    yield from Draft202012Validator.VALIDATORS["properties"](validator, properties, instance,
                                                             schema)


_Validator = validators.extend(Draft202012Validator, {"properties": _fill_defaults})


def check(config: dict[str, Any], schema_path: str | Path) -> None:
    """Fill in the schema's defaults; raise :class:`ConfigError` listing every violation of
    the schema, one line per key."""
    schema = yaml.load(Path(schema_path).read_text(), Loader=yaml.CSafeLoader)
    errors = sorted(_Validator(schema).iter_errors(config),
                    key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        lines = "\n".join(f"  - {_describe(e)}" for e in errors)
        raise ConfigError(f"invalid configuration (see {Path(schema_path).name}):\n{lines}")
