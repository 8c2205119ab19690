"""Config checks with messages that name the offending key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match


class ConfigError(ValueError):
    pass


def _describe(err: ValidationError) -> str:
    if err.context:  # oneOf / anyOf: report the closest branch
        err = best_match(err.context)
    key = ".".join(str(p) for p in err.absolute_path) or "(top level)"
    return f"{key}: {err.message}"


def check(config: dict[str, Any], schema_path: str | Path) -> None:
    """Raise :class:`ConfigError` listing every violation of the schema, one line per key."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    errors = sorted(Draft202012Validator(schema).iter_errors(config),
                    key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        lines = "\n".join(f"  - {_describe(e)}" for e in errors)
        raise ConfigError(f"invalid configuration (see {Path(schema_path).name}):\n{lines}")
