"""The versioned annotation schema: validation of answers and their flat row form."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from psymtl.datasets.cancer import EMOTIONS as CANCER_EMOTIONS
from psymtl.datasets.cancer import SUBSCALES

EMOTION_KEYS = tuple(e.replace(" ", "_") for e in CANCER_EMOTIONS)
SUM_TOLERANCE = 0.05


class InvalidAnswer(ValueError):
    """An answer that does not follow the schema (retried, then reported)."""


def load(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def digest(obj: Any) -> str:
    """sha256 of a canonical JSON rendering (or of text as is)."""
    data = obj if isinstance(obj, str) else json.dumps(obj, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def validate(answer: Any, schema: dict[str, Any]) -> dict[str, Any]:
    """Check ``answer`` against the schema; renormalise the emotion distribution if its sum
    is within 0.05 of 1 (models round), reject it otherwise."""
    if isinstance(answer, str):
        try:
            answer = json.loads(answer)
        except json.JSONDecodeError as exc:
            raise InvalidAnswer(f"not JSON: {exc}") from None
    errors = sorted(Draft202012Validator(schema).iter_errors(answer), key=lambda e: e.path)
    if errors:
        e = errors[0]
        where = ".".join(map(str, e.absolute_path)) or "(answer)"
        raise InvalidAnswer(f"{where}: {e.message}")
    total = sum(answer["emotion_probs"].values())
    if abs(total - 1) > SUM_TOLERANCE:
        raise InvalidAnswer(f"emotion_probs sum to {total:.3f}, not 1")
    answer = dict(answer)
    answer["emotion_probs"] = {k: v / total for k, v in answer["emotion_probs"].items()}
    return answer


def to_row(answer: dict[str, Any]) -> dict[str, Any]:
    """Flat columns for the annotations parquet."""
    row = {k: int(answer[k]) for k in SUBSCALES}
    row |= {"composite_burden": float(answer["composite_burden"]),
            "high_need": int(bool(answer["high_need"])), "speaker_role": answer["speaker_role"],
            "cancer_type": answer["cancer_type"],
            "emotion_probs": [float(answer["emotion_probs"][k]) for k in EMOTION_KEYS]}
    return row
