"""Study A: the Mendeley cancer peer-support posts ("Mental Health Insights: Vulnerable Cancer
Survivors and Caregivers", doi:10.17632/69dcnv2gzd.1): one CSV ``posts,predicted,intensity``.
Its burden, role, cancer-type and emotion-distribution targets come from LLM annotation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from psymtl.kinds import KINDS
from psymtl.tasks import Task

if TYPE_CHECKING:
    import pandas as pd

    from psymtl.ingest import Report

NAME = "cancer"
ANNOTATED = True  # targets beyond the human emotion label come from the annotation stage
ABOUT = {"title": "Mental Health Insights: Vulnerable Cancer Survivors and Caregivers",
         "citation": "Mendeley Data, doi:10.17632/69dcnv2gzd.1",
         "source": "https://data.mendeley.com/datasets/69dcnv2gzd/1",
         "license": "cc-by-4.0", "terms": "CC BY 4.0"}
OPTIONS: tuple[str, ...] = ()

EMOTIONS = ("very negative", "negative", "neutral", "positive")
INTENSITY = {"very negative": -2, "negative": -1, "neutral": 0, "positive": 1}
BINARY = ("no", "yes")
LEVELS = ("none", "low", "moderate", "high")
ROLES = ("patient", "caregiver", "other")
CANCERS = ("brain", "colon", "liver", "leukemia", "lung", "other/unknown")
SUBSCALES = ("treatment_burden", "financial_strain", "uncertainty", "unmet_support_needs")


def tasks(dataset: str = NAME, options: dict[str, Any] | None = None) -> list[Task]:
    """Human emotion label (hard) and the LLM's emotion distribution (soft), each also scored
    against the other's targets; burden, high need, subscales, role, cancer type."""
    clas, regr, dist = KINDS["classification"], KINDS["regression"], KINDS["distribution"]
    return [Task("emotion", clas, dataset, "emotion", EMOTIONS, peers=("emotion_soft",)),
            Task("emotion_soft", dist, dataset, "emotion_probs", EMOTIONS, peers=("emotion",)),
            Task("burden", regr, dataset, "composite_burden"),
            Task("high_need", clas, dataset, "high_need", BINARY),
            *(Task(s, clas, dataset, s, LEVELS) for s in SUBSCALES),
            Task("role", clas, dataset, "speaker_role", ROLES),
            Task("cancer_type", clas, dataset, "cancer_type", CANCERS)]


def group(options: dict[str, Any] | None = None) -> str | None:
    return None


def stratify(options: dict[str, Any] | None = None) -> str:
    return "emotion"


def read(raw: Path) -> tuple[pd.DataFrame, Report]:
    import numpy as np
    import pandas as pd

    from psymtl.errors import InputError
    from psymtl.ingest import check_values, finalise, read_csv, row_origin, single_csv

    path = single_csv(raw)
    df = read_csv(path, ["posts", "predicted", "intensity"])
    rep: Report = {"source": str(path), "rows_read": len(df)}
    check_values(df, path, "predicted", EMOTIONS)
    expected = df["predicted"].map(INTENSITY).astype(str)
    mism = df["intensity"].str.strip() != expected
    if mism.any():
        i = int(np.flatnonzero(mism.to_numpy())[0])
        raise InputError(path, f"intensity {df['intensity'].iat[i]!r} does not match "
                         f"predicted={df['predicted'].iat[i]!r} (expected {expected.iat[i]})",
                         line=int(df["_line"].iat[i]), field="intensity")
    out = pd.DataFrame({
        "id": [f"cancer-{i:05d}" for i in range(len(df))], "text": df["posts"],
        "source_split": None, "emotion": df["predicted"],
        "intensity": df["intensity"].astype(int), **row_origin(path, df),
    })
    return finalise(out, rep, key=["text", "emotion"]), rep


def synthetic(out: Path, params: dict[str, Any], dreaddit_columns: list[str] | None = None
              ) -> None:
    write_synthetic(out / "cancer.csv", params["n"], params["seed"])


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


def write_synthetic(path: str | Path, n: int, seed: int, noise: float = 0.1) -> None:
    """Write the Mendeley cancer peer-support CSV (``posts,predicted,intensity``)."""
    import numpy as np
    import pandas as pd

    from psymtl.synthetic import compose, noisy

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        emo = int(rng.choice(4, p=[0.11, 0.40, 0.42, 0.07]))
        role = str(rng.choice(list(ROLE_CUES), p=[0.55, 0.35, 0.10]))
        cancer = str(rng.choice(list(CANCER_CUES)))
        burdens = [b for b in BURDEN_CUES if rng.random() < (0.55 if emo < 2 else 0.2)]
        cues = [str(rng.choice(EMOTION_CUES[EMOTIONS[emo]])),
                f"{rng.choice(ROLE_CUES[role])}, {CANCER_CUES[cancer]}"]
        cues += [BURDEN_CUES[b] for b in burdens]
        label = EMOTIONS[noisy(rng, emo, 4, noise)]
        text = "" if i == n // 2 else compose(rng, cues)  # the real file has one missing post
        rows.append({"posts": text, "predicted": label, "intensity": INTENSITY[label]})
    out = pd.DataFrame(rows)
    out.loc[n // 2, "posts"] = None
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
