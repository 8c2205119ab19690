"""Study B's main task: Pirina & Çöltekin 2018, "Identifying depression on Reddit": ``train.csv``
(400 posts each of dsf, ndf, ff, do, ds, bc, nd) and ``test.csv`` (do, nd). Which posts are
trained and tested on is the config's ``setup`` (docs/studies.md: Study B, data setups)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from psymtl.kinds import KINDS
from psymtl.tasks import Task

if TYPE_CHECKING:
    import pandas as pd

    from psymtl.ingest import Report

NAME = "pirina"
ANNOTATED = False
ABOUT = {"title": "Identifying depression on Reddit", "citation": "Pirina & Çöltekin 2018",
         "source": "https://github.com/coltekin/identifying-depression",
         "license": None, "terms": "as distributed by the authors; see the dataset's terms"}
OPTIONS = ("setup",)

TRAIN_LABELS = ("dsf", "ndf", "ff", "do", "ds", "bc", "nd")
TEST_LABELS = ("do", "nd")
# (positive labels, negative labels) per file, and whether the files' train/test split is
# kept (else dev and test are held out of the training file's posts).
SETUPS: dict[str, dict] = {
    "forums_heldout": {"train": ({"dsf"}, {"ndf"}), "test": (set(), set()),
                       "official_split": False},
    "forums_to_do_nd": {"train": ({"dsf"}, {"ndf"}), "test": ({"do"}, {"nd"}),
                        "official_split": True},
    "do_nd": {"train": ({"do"}, {"nd"}), "test": ({"do"}, {"nd"}), "official_split": True},
}


def tasks(dataset: str = NAME, options: dict[str, Any] | None = None) -> list[Task]:
    return [Task("depression", KINDS["classification"], dataset, "depression", ("no", "yes"))]


def group(options: dict[str, Any] | None = None) -> str | None:
    return None


def stratify(options: dict[str, Any] | None = None) -> str:
    return "depression"


def read(raw: Path, setup: str = "forums_heldout") -> tuple[pd.DataFrame, Report]:
    """Depression (1) vs not (0) under one of :data:`SETUPS`: which forum labels of
    which file are the positive and negative posts, and whether the files' train/test split
    is kept (else the split stage holds out dev and test). Posts of other forums are dropped
    and counted (``not_in_setup``)."""
    import pandas as pd

    from psymtl.errors import InputError
    from psymtl.ingest import check_values, finalise, read_csv, row_origin

    if setup not in SETUPS:
        raise ValueError(f"unknown pirina setup {setup!r}; known: {sorted(SETUPS)}")
    frames, rep = [], {"source": str(raw), "setup": setup}
    for split, allowed in (("train", TRAIN_LABELS), ("test", TEST_LABELS)):
        path = raw / f"{split}.csv"
        df = read_csv(path, ["label", "text"])
        check_values(df, path, "label", allowed)
        rep[f"rows_read_{split}"] = len(df)
        pos, neg = SETUPS[setup][split]
        used = df["label"].isin(pos | neg).to_numpy()
        rep[f"not_in_setup_{split}"] = int((~used).sum())
        keep = SETUPS[setup]["official_split"]
        frames.append(pd.DataFrame({
            "id": [f"pirina-{split}-{i:05d}" for i in range(len(df))], "text": df["text"],
            "source_split": split if keep else None, "forum_label": df["label"],
            "depression": df["label"].isin(pos).astype(int), **row_origin(path, df),
        })[used])
        if split == "train" and not used.any():
            raise InputError(path, f"no post with a label of setup {setup!r} "
                             f"({sorted(pos | neg)}); found {sorted(set(df['label']))}",
                             field="label")
    return finalise(pd.concat(frames), rep, key=["text", "forum_label", "source_split"]), rep


def synthetic(out: Path, params: dict[str, Any], dreaddit_columns: list[str] | None = None
              ) -> None:
    write_synthetic(out, params["n_per_label"], params["seed"])


DEPRESSED_CUES = ("I feel empty and worthless every day", "nothing matters and I want to disappear",
                  "I have lost interest in everything", "getting out of bed feels impossible")
NONDEPRESSED_CUES = ("I enjoyed the hike this morning", "looking forward to the trip",
                     "we celebrated my sister's birthday", "the new job is going well")


def write_synthetic(out_dir: str | Path, n_per_label: int, seed: int, noise: float = 0.1) -> None:
    """Write Pirina & Coltekin's ``train.csv`` (7 forum labels) and ``test.csv`` (do / nd)."""
    import numpy as np
    import pandas as pd

    from psymtl.synthetic import compose, noisy

    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    depressed = {"dsf", "do", "ds"}
    splits = {"train": ("dsf", "ndf", "ff", "do", "ds", "bc", "nd"), "test": ("do", "nd")}
    for name, labels in splits.items():
        rows = []
        for label in labels:
            for _ in range(n_per_label):
                y = noisy(rng, int(label in depressed), 2, noise)
                cues = rng.choice(DEPRESSED_CUES if y else NONDEPRESSED_CUES, size=2,
                                  replace=False)
                rows.append({"label": label, "text": compose(rng, list(cues))})
        order = rng.permutation(len(rows))
        pd.DataFrame(rows).iloc[order].to_csv(out_dir / f"{name}.csv", index=False)
