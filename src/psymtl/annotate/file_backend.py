"""The ``file`` backend: import annotations someone else produced (CSV or parquet), keyed by
post id or by post text, one column per schema field (emotion probabilities as columns
``emotion_very_negative`` ... ``emotion_positive``). Every row is validated against the schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from psymtl.annotate.schema import EMOTION_KEYS, SUBSCALES, InvalidAnswer, validate
from psymtl.errors import InputError

FIELDS = (*SUBSCALES, "composite_burden", "high_need", "speaker_role", "cancer_type",
          *(f"emotion_{k}" for k in EMOTION_KEYS))


def read(path: str | Path, key: str, schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Validated answers by key (``id`` or ``text``)."""
    path = Path(path)
    df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    missing = [c for c in (key, *FIELDS) if c not in df.columns]
    if missing:
        raise InputError(path, f"missing column(s) {missing}")
    if df[key].duplicated().any():
        raise InputError(path, f"duplicate {key} {df[key][df[key].duplicated()].iat[0]!r}",
                         field=key)
    out = {}
    for i, row in enumerate(df.itertuples(index=False)):
        r = row._asdict()
        answer = {k: r[k] for k in (*SUBSCALES, "composite_burden", "speaker_role",
                                    "cancer_type")}
        answer |= {k: int(answer[k]) for k in SUBSCALES if pd.notna(answer[k])}
        answer["high_need"] = str(r["high_need"]).strip().lower() in ("1", "true", "yes")
        answer["emotion_probs"] = {k: float(r[f"emotion_{k}"]) for k in EMOTION_KEYS}
        try:
            out[str(r[key])] = validate(answer, schema)
        except InvalidAnswer as exc:
            where = ({"record": r[key]} if path.suffix == ".parquet"
                     else {"line": i + 2})  # header = line 1
            raise InputError(path, str(exc), **where) from None
    return out
