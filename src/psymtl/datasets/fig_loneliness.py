"""Study C: FIG-Loneliness (Jiang et al. 2022), Hugging Face ``save_to_disk`` folders
``{train,dev,test}_set`` with a one-hot ``lonely`` vector and annotator vote counts for the
four fine-grained categories (all zero for non-lonely posts)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from psymtl.kinds import KINDS
from psymtl.tasks import Task

if TYPE_CHECKING:
    import pandas as pd

    from psymtl.ingest import Report

NAME = "fig_loneliness"
ANNOTATED = False
ABOUT = {"title": "FIG-Loneliness", "citation": "Jiang et al. 2022",
         "source": "https://huggingface.co/datasets/FIG-Loneliness/FIG-Loneliness",
         "hub_id": "FIG-Loneliness/FIG-Loneliness",
         "license": "cc-by-nc-4.0", "terms": "CC BY-NC 4.0"}
OPTIONS: tuple[str, ...] = ()

# column -> category names, in vote-vector order; lonely first: the root of the hierarchy
CATEGORIES: dict[str, tuple[str, ...]] = {
    "lonely": ("non-lonely", "lonely"),
    "temporal": ("transient", "enduring", "ambiguous", "NA"),
    "interaction": ("seek advice", "provide help", "seek validation & affirmation",
                    "reach out", "non-directed"),
    "context_pri": ("social", "physical", "somatic", "romantic", "NA"),
    "interpersonal_pri": ("romantic", "friendship", "family", "colleagues", "NA"),
}
FINE = ("temporal", "interaction", "context_pri", "interpersonal_pri")


def tasks(dataset: str = NAME, options: dict[str, Any] | None = None) -> list[Task]:
    return [Task(c, KINDS["distribution"], dataset, c, names) for c, names in CATEGORIES.items()]


def group(options: dict[str, Any] | None = None) -> str | None:
    return None


def stratify(options: dict[str, Any] | None = None) -> str:
    return "lonely"


def read(raw: Path) -> tuple[pd.DataFrame, Report]:
    import numpy as np
    import pandas as pd
    from datasets import load_from_disk

    from psymtl.errors import InputError
    from psymtl.ingest import finalise, user_files

    frames, rep = [], {"source": str(raw)}
    for split in ("train", "dev", "test"):
        folder = raw / f"{split}_set"
        if not folder.is_dir():
            raise InputError(raw, f"missing split folder {folder.name}/ (found "
                             f"{user_files(raw)}; save_to_disk layout with train_set/, "
                             "dev_set/, test_set/)")
        df = load_from_disk(str(folder)).to_pandas()
        missing = [c for c in ("unique_id", "text", *CATEGORIES) if c not in df.columns]
        if missing:
            raise InputError(folder, f"missing column(s) {missing}; found {list(df.columns)}")
        if df.empty:
            raise InputError(folder, "has no records")
        for col, names in CATEGORIES.items():
            for uid, votes in zip(df["unique_id"], df[col], strict=True):
                votes = [int(v) for v in votes] if votes is not None else []
                if len(votes) != len(names) or min(votes, default=-1) < 0:
                    raise InputError(folder, f"expected {len(names)} non-negative vote counts "
                                     f"{list(names)}, got {votes}", record=uid, field=col)
                if col == "lonely" and sorted(votes) != [0, 1]:
                    raise InputError(folder, f"expected a one-hot [non-lonely, lonely] vector "
                                     f"([1, 0] or [0, 1]), got {votes}", record=uid, field=col)
        rep[f"rows_read_{split}"] = len(df)
        out = pd.DataFrame({"id": df["unique_id"].astype(str), "text": df["text"],
                            "source_split": split, "_file": str(folder),
                            "_record": df["unique_id"].astype(str).to_numpy()})
        for col in CATEGORIES:
            out[col] = [np.asarray(v, dtype=np.int64).tolist() for v in df[col]]
        frames.append(out)
    return finalise(pd.concat(frames), rep, key=["text", "source_split", *CATEGORIES]), rep


def synthetic(out: Path, params: dict[str, Any], dreaddit_columns: list[str] | None = None
              ) -> None:
    write_synthetic(out, {"train": params["n_train"], "dev": params["n_dev"],
                          "test": params["n_test"]}, params["seed"])


LONELY_CUES = ("I feel so lonely and isolated", "nobody ever talks to me",
               "I have no friends to spend time with")
NONLONELY_CUES = ("what is the best recipe for pancakes", "my team won the match today",
                  "recommend me a good movie")
FIG_CUES = {
    "temporal": ("it only started this week", "I have felt this way for years",
                 "I do not know how long it has been", "whatever"),
    "interaction": ("any advice on what to do", "I want to help others who feel this",
                    "tell me I am not the only one", "would anyone like to chat",
                    "just venting into the void"),
    "context_pri": ("at school and parties", "since I moved to a new city",
                    "because of my illness", "since my breakup", "for no reason"),
    "interpersonal_pri": ("I miss having a partner", "I have no friends",
                          "my family ignores me", "my colleagues exclude me", "in general"),
}


def write_synthetic(out_dir: str | Path, sizes: dict[str, int], seed: int) -> None:
    """Write FIG-Loneliness ``{train,dev,test}_set`` folders in ``save_to_disk`` layout."""
    import numpy as np
    from datasets import Dataset, Features, Sequence, Value

    from psymtl.synthetic import compose

    rng = np.random.default_rng(seed)
    features = Features({
        "context_pri": Sequence(Value("int64")), "idx": Value("int32"),
        "interaction": Sequence(Value("int64")), "interpersonal_pri": Sequence(Value("int64")),
        "lonely": Sequence(Value("int64")), "temporal": Sequence(Value("int64")),
        "text": Value("string"), "unique_id": Value("string"),
    })
    idx = 0
    for split, n in sizes.items():
        cols: dict[str, list] = {k: [] for k in features}
        for _ in range(n):
            lonely = int(rng.random() < 0.5)
            cues = [str(rng.choice(LONELY_CUES if lonely else NONLONELY_CUES))]
            for cat in FINE:
                k = len(CATEGORIES[cat])
                votes = np.zeros(k, dtype=int)
                if lonely:
                    latent = int(rng.integers(k))
                    cues.append(FIG_CUES[cat][latent])
                    for _ in range(3):  # three annotators per lonely post
                        votes[latent if rng.random() < 0.7 else int(rng.integers(k))] += 1
                cols[cat].append(votes.tolist())
            cols["lonely"].append([1 - lonely, lonely])
            cols["text"].append(compose(rng, cues[:3]))
            cols["idx"].append(idx)
            cols["unique_id"].append(f"syn{idx:06d}")
            idx += 1
        Dataset.from_dict(cols, features=features).save_to_disk(str(Path(out_dir) / f"{split}_set"))
