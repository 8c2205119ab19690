"""PsyMTL: shared code of the multi-task / distributional learning workflow."""

__version__ = "0.1.0"
