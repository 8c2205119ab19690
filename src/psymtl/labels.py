"""Label vocabularies of the datasets, in the order the raw files use."""

CANCER_EMOTIONS = ("very negative", "negative", "neutral", "positive")
CANCER_INTENSITY = {"very negative": -2, "negative": -1, "neutral": 0, "positive": 1}

PIRINA_TRAIN_LABELS = ("dsf", "ndf", "ff", "do", "ds", "bc", "nd")
PIRINA_TEST_LABELS = ("do", "nd")
# Study B data setups: (positive labels, negative labels) per file, and whether the files'
# train/test split is kept (else dev and test are held out of the training file's posts).
PIRINA_SETUPS: dict[str, dict] = {
    "forums_heldout": {"train": ({"dsf"}, {"ndf"}), "test": (set(), set()),
                       "official_split": False},
    "forums_to_do_nd": {"train": ({"dsf"}, {"ndf"}), "test": ({"do"}, {"nd"}),
                        "official_split": True},
    "do_nd": {"train": ({"do"}, {"nd"}), "test": ({"do"}, {"nd"}), "official_split": True},
}

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
