"""Deterministic synthetic corpora written in exactly the real datasets' file formats.

The texts carry learnable cues (label-specific phrases mixed with neutral filler, plus label
noise), so that the default workflow shows real fine-tuning while the very same ingestion code
reads them as it reads the real files.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from psymtl.labels import CANCER_EMOTIONS, CANCER_INTENSITY, FIG_CATEGORIES, FIG_FINE

FILLER = (
    "I wanted to write this down somewhere.",
    "It has been a long week.",
    "Thanks for reading this far.",
    "Not sure where else to post this.",
    "Anyway, that is where things are right now.",
    "I keep thinking about it at night.",
    "My day started like any other.",
    "Sorry for the long post.",
)

EMOTION_CUES = {
    "very negative": ("I am devastated and terrified", "everything feels hopeless and unbearable",
                      "I cannot stop crying, this is a nightmare"),
    "negative": ("I am worried and tired", "it is frustrating and sad",
                 "things are hard and I feel down"),
    "neutral": ("the appointment is on Tuesday", "the doctor explained the schedule",
                "I have a question about the dosage"),
    "positive": ("the scan came back clear and we are so grateful", "feeling hopeful and strong",
                 "great news today, thank you all for the support"),
}
ROLE_CUES = {
    "patient": ("I was diagnosed last month", "my own treatment starts soon"),
    "caregiver": ("my husband was diagnosed", "I am caring for my mother who has it"),
    "other": ("my coworker has it", "asking for a friend"),
}
CANCER_CUES = {
    "brain": "a brain tumor", "colon": "colon cancer", "liver": "liver cancer",
    "leukemia": "leukemia", "lung": "lung cancer",
}
BURDEN_CUES = {
    "treatment_burden": "the chemo sessions and side effects are exhausting",
    "financial_strain": "the bills and insurance costs are piling up",
    "uncertainty": "waiting for results and not knowing what comes next",
    "unmet_support_needs": "I have no one to talk to and feel alone with this",
}
STRESS_CUES = ("I am so stressed and anxious about rent", "my heart races and I cannot sleep",
               "I feel overwhelmed and panicky at work", "the pressure is crushing me")
CALM_CUES = ("we had a relaxed dinner with friends", "the weekend was calm and nice",
             "I finally finished the book I was reading", "work went fine today")
DEPRESSED_CUES = ("I feel empty and worthless every day", "nothing matters and I want to disappear",
                  "I have lost interest in everything", "getting out of bed feels impossible")
NONDEPRESSED_CUES = ("I enjoyed the hike this morning", "looking forward to the trip",
                     "we celebrated my sister's birthday", "the new job is going well")
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

DREADDIT_SUBREDDITS = ("ptsd", "assistance", "relationships", "survivorsofabuse",
                       "domesticviolence", "anxiety", "homeless", "stress",
                       "almosthomeless", "food_pantry")


SUBJECTS = ("I", "My neighbour", "My brother", "Our dog", "The landlord", "My cousin", "We",
            "Everyone here", "My roommate", "The nurse")
VERBS = ("fixed", "noticed", "talked about", "forgot", "cleaned", "painted", "bought", "lost",
         "watched", "cooked")
OBJECTS = ("the old car", "a blue kettle", "the garden fence", "some groceries", "the laptop",
           "a funny video", "the kitchen sink", "my phone charger", "the bus schedule",
           "a library book")
WHEN = ("yesterday", "this morning", "last weekend", "on Monday", "a while ago", "tonight",
        "after lunch", "before work")


def _filler(rng: np.random.Generator) -> str:
    """A neutral sentence (10,000 variants) so that texts are diverse, like real posts."""
    return (f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} "
            f"{rng.choice(WHEN)}")


def _compose(rng: np.random.Generator, cues: list[str], n_filler: int = 1) -> str:
    fillers = [_filler(rng) for _ in range(n_filler)]
    parts = list(cues) + fillers + ([str(rng.choice(FILLER))] if rng.random() < 0.3 else [])
    rng.shuffle(parts)
    return " ".join(p if p.endswith(".") else p + "." for p in parts)


def _noisy(rng: np.random.Generator, label: int, n_classes: int, noise: float) -> int:
    return int(rng.integers(n_classes)) if rng.random() < noise else label


def cancer_csv(path: str | Path, n: int, seed: int, noise: float = 0.1) -> None:
    """Write the Mendeley cancer peer-support CSV (``posts,predicted,intensity``)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        emo = int(rng.choice(4, p=[0.11, 0.40, 0.42, 0.07]))
        role = str(rng.choice(list(ROLE_CUES), p=[0.55, 0.35, 0.10]))
        cancer = str(rng.choice(list(CANCER_CUES)))
        burdens = [b for b in BURDEN_CUES if rng.random() < (0.55 if emo < 2 else 0.2)]
        cues = [str(rng.choice(EMOTION_CUES[CANCER_EMOTIONS[emo]])),
                f"{rng.choice(ROLE_CUES[role])}, {CANCER_CUES[cancer]}"]
        cues += [BURDEN_CUES[b] for b in burdens]
        label = CANCER_EMOTIONS[_noisy(rng, emo, 4, noise)]
        text = "" if i == n // 2 else _compose(rng, cues)  # the real file has one missing post
        rows.append({"posts": text, "predicted": label, "intensity": CANCER_INTENSITY[label]})
    out = pd.DataFrame(rows)
    out.loc[n // 2, "posts"] = None
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)


def dreaddit_csvs(out_dir: str | Path, n_train: int, n_test: int, seed: int,
                  columns: list[str], noise: float = 0.1) -> None:
    """Write ``dreaddit-train.csv`` and ``dreaddit-test.csv`` with all of Dreaddit's columns."""
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
                    "text": _compose(rng, list(cues)), "id": next_id,
                    "label": _noisy(rng, y, 2, noise),
                    "confidence": float(rng.choice([0.6, 0.8, 1.0])),
                    "social_timestamp": int(1.5e9 + rng.integers(1e7)),
                    "social_karma": int(rng.integers(0, 200)),
                })
                next_id += 1
                rows.append(row)
        pd.DataFrame(rows[:n], columns=columns).to_csv(
            out_dir / f"dreaddit-{name}.csv", index=False, quoting=csv.QUOTE_MINIMAL)


def pirina_csvs(out_dir: str | Path, n_per_label: int, seed: int, noise: float = 0.1) -> None:
    """Write Pirina & Coltekin's ``train.csv`` (7 forum labels) and ``test.csv`` (do / nd)."""
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    depressed = {"dsf", "do", "ds"}
    splits = {"train": ("dsf", "ndf", "ff", "do", "ds", "bc", "nd"), "test": ("do", "nd")}
    for name, labels in splits.items():
        rows = []
        for label in labels:
            for _ in range(n_per_label):
                y = _noisy(rng, int(label in depressed), 2, noise)
                cues = rng.choice(DEPRESSED_CUES if y else NONDEPRESSED_CUES, size=2,
                                  replace=False)
                rows.append({"label": label, "text": _compose(rng, list(cues))})
        order = rng.permutation(len(rows))
        pd.DataFrame(rows).iloc[order].to_csv(out_dir / f"{name}.csv", index=False)


def fig_loneliness_dirs(out_dir: str | Path, sizes: dict[str, int], seed: int) -> None:
    """Write FIG-Loneliness ``{train,dev,test}_set`` folders in ``save_to_disk`` layout."""
    from datasets import Dataset, Features, Sequence, Value

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
            for cat in FIG_FINE:
                k = len(FIG_CATEGORIES[cat])
                votes = np.zeros(k, dtype=int)
                if lonely:
                    latent = int(rng.integers(k))
                    cues.append(FIG_CUES[cat][latent])
                    for _ in range(3):  # three annotators per lonely post
                        votes[latent if rng.random() < 0.7 else int(rng.integers(k))] += 1
                cols[cat].append(votes.tolist())
            cols["lonely"].append([1 - lonely, lonely])
            cols["text"].append(_compose(rng, cues[:3]))
            cols["idx"].append(idx)
            cols["unique_id"].append(f"syn{idx:06d}")
            idx += 1
        Dataset.from_dict(cols, features=features).save_to_disk(str(Path(out_dir) / f"{split}_set"))
