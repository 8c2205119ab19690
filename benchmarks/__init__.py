"""PsyMTL benchmark suite: `python -m benchmarks` (see docs/speed.md)."""
