"""PsyMTL benchmark suite: `python -m benchmarks` (see the README's Speed section)."""
