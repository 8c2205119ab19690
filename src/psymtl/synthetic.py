"""Shared pieces of the synthetic stand-ins: each dataset's generator (in its module under
``psymtl.datasets``) writes the real file format with learnable label cues mixed with neutral
filler and label noise, so that the default workflow shows real fine-tuning while the very
same ingestion code reads them as it reads the real files. Deterministic for a seed."""

from __future__ import annotations

import numpy as np

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


def compose(rng: np.random.Generator, cues: list[str], n_filler: int = 1) -> str:
    """The cue phrases with neutral filler, in random order, as one post."""
    fillers = [_filler(rng) for _ in range(n_filler)]
    parts = list(cues) + fillers + ([str(rng.choice(FILLER))] if rng.random() < 0.3 else [])
    rng.shuffle(parts)
    return " ".join(p if p.endswith(".") else p + "." for p in parts)


def noisy(rng: np.random.Generator, label: int, n_classes: int, noise: float) -> int:
    """``label``, replaced by a random class with probability ``noise``."""
    return int(rng.integers(n_classes)) if rng.random() < noise else label
