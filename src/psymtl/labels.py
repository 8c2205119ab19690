"""Label vocabularies of the datasets, in the order the raw files use."""

CANCER_EMOTIONS = ("very negative", "negative", "neutral", "positive")
CANCER_INTENSITY = {"very negative": -2, "negative": -1, "neutral": 0, "positive": 1}

PIRINA_TRAIN_LABELS = ("dsf", "ndf", "ff", "do", "ds", "bc", "nd")
PIRINA_TEST_LABELS = ("do", "nd")

# FIG-Loneliness: column -> category names, in vote-vector order.
FIG_CATEGORIES: dict[str, tuple[str, ...]] = {
    "lonely": ("non-lonely", "lonely"),
    "temporal": ("transient", "enduring", "ambiguous", "NA"),
    "interaction": (
        "seek advice",
        "provide help",
        "seek validation & affirmation",
        "reach out",
        "non-directed",
    ),
    "context_pri": ("social", "physical", "somatic", "romantic", "NA"),
    "interpersonal_pri": ("romantic", "friendship", "family", "colleagues", "NA"),
}
FIG_FINE = ("temporal", "interaction", "context_pri", "interpersonal_pri")
