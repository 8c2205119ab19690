"""Study B's auxiliary task: Dreaddit (Turcan & McKeown 2019), binary stress, 116-column
``dreaddit-train.csv`` / ``dreaddit-test.csv``; one post can give several segments (rows of
one ``post_id``), which never straddle train and dev."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from psymtl.kinds import KINDS
from psymtl.tasks import Task

if TYPE_CHECKING:
    import pandas as pd

    from psymtl.ingest import Report

NAME = "dreaddit"
ANNOTATED = False
ABOUT = {"title": "Dreaddit", "citation": "Turcan & McKeown 2019",
         "source": "http://www.cs.columbia.edu/~eturcan/data/dreaddit.zip",
         "license": None, "terms": "distributed by the authors for research use; see the "
         "dataset's terms"}
OPTIONS: tuple[str, ...] = ()


def tasks(dataset: str = NAME, options: dict[str, Any] | None = None) -> list[Task]:
    return [Task("stress", KINDS["classification"], dataset, "stress", ("no", "yes"))]


def group(options: dict[str, Any] | None = None) -> str | None:
    """Rows that must stay in one split: the segments of one post."""
    return "post_id"


def stratify(options: dict[str, Any] | None = None) -> str:
    return "stress"


def read(raw: Path) -> tuple[pd.DataFrame, Report]:
    import pandas as pd

    from psymtl.ingest import check_values, finalise, numeric, read_csv, row_origin

    frames, rep = [], {"source": str(raw)}
    for split in ("train", "test"):
        path = raw / f"dreaddit-{split}.csv"
        df = read_csv(path, ["id", "text", "label", "subreddit", "post_id", "confidence"])
        check_values(df, path, "label", ("0", "1"))
        rep[f"rows_read_{split}"] = len(df)
        frames.append(pd.DataFrame({
            "id": "dreaddit-" + df["id"], "text": df["text"], "source_split": split,
            "stress": df["label"].astype(int), "subreddit": df["subreddit"],
            "post_id": df["post_id"], "confidence": numeric(df, path, "confidence"),
            **row_origin(path, df),
        }))
    return finalise(pd.concat(frames), rep, key=["text", "stress", "source_split"]), rep


def synthetic(out: Path, params: dict[str, Any], dreaddit_columns: list[str] | None = None
              ) -> None:
    assert dreaddit_columns, "dreaddit needs its column list"
    write_synthetic(out, params["n_train"], params["n_test"], params["seed"], dreaddit_columns)


STRESS_CUES = ("I am so stressed and anxious about rent", "my heart races and I cannot sleep",
               "I feel overwhelmed and panicky at work", "the pressure is crushing me")
CALM_CUES = ("we had a relaxed dinner with friends", "the weekend was calm and nice",
             "I finally finished the book I was reading", "work went fine today")
DREADDIT_SUBREDDITS = ("ptsd", "assistance", "relationships", "survivorsofabuse",
                       "domesticviolence", "anxiety", "homeless", "stress",
                       "almosthomeless", "food_pantry")


def write_synthetic(out_dir: str | Path, n_train: int, n_test: int, seed: int,
                  columns: list[str], noise: float = 0.1) -> None:
    """Write ``dreaddit-train.csv`` and ``dreaddit-test.csv`` with all of Dreaddit's columns."""
    import csv

    import numpy as np
    import pandas as pd

    from psymtl.synthetic import compose, noisy

    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    next_id = 1000
    for name, n in (("train", n_train), ("test", n_test)):
        rows = []
        while len(rows) < n:
            post_id = "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz0123456789"), size=6))
            subreddit = str(rng.choice(DREADDIT_SUBREDDITS))
            for seg in range(int(rng.integers(1, 3))):  # a post can give several segments
                y = int(rng.integers(2))
                cues = rng.choice(STRESS_CUES if y else CALM_CUES, size=2, replace=False)
                row = {c: round(float(rng.normal(50, 20)), 3) for c in columns}
                row.update({
                    "subreddit": subreddit, "post_id": post_id,
                    "sentence_range": f"({5 * seg}, {5 * seg + 5})",
                    "text": compose(rng, list(cues)), "id": next_id,
                    "label": noisy(rng, y, 2, noise),
                    "confidence": float(rng.choice([0.6, 0.8, 1.0])),
                    "social_timestamp": int(1.5e9 + rng.integers(1e7)),
                    "social_karma": int(rng.integers(0, 200)),
                })
                next_id += 1
                rows.append(row)
        pd.DataFrame(rows[:n], columns=columns).to_csv(
            out_dir / f"dreaddit-{name}.csv", index=False, quoting=csv.QUOTE_MINIMAL)
