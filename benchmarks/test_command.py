"""The README's test command as `.ci/run` runs it (`.venv/bin/python -m pytest -q`) in a fresh
clone of the committed HEAD: wall time (goal: 5 min), median of ``repeats`` runs, and the
tests passed. CI runs it with the one-node Slurm started (`bash .ci/start-slurm.sh`) and the
Slurm test required; this does the same when Slurm answers here, and says which it was."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, median, row, slurm_state

COMMAND = ".venv/bin/python -m pytest -q"


def run(clone: Path, slurm: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=str(clone / "src"))  # the clone's package, not ours
    env.pop("PSYMTL_SHARED_DATA", None)  # as in CI: the real datasets are not next to a clone
    if slurm:
        env["PSYMTL_REQUIRE_SLURM"] = "1"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, *COMMAND.split()[1:]], cwd=clone, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if proc.returncode != 0:
        raise RuntimeError(f"the test command failed: {tail}\n{proc.stdout[-3000:]}")
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|skipped|failed)", tail)}
    return {"seconds": seconds, **counts}


def measure(repeats: int = 3) -> list[dict]:
    readme = (ROOT / "README.md").read_text()
    if COMMAND not in readme:
        raise RuntimeError(f"README.md no longer shows the test command {COMMAND!r}")
    slurm = slurm_state() == "up"
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "psymtl"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        runs = [run(clone, slurm) for _ in range(repeats)]
    walls = [r["seconds"] / 60 for r in runs]
    case = (f"`{COMMAND}`, fresh clone of HEAD, "
            + ("Slurm up, Slurm test required" if slurm else "no Slurm answering: its test skips"))
    return [row("test command", case, "wall time", median(walls), "min", goal="<= 5 min",
                met=median(walls) <= 5, runs=[round(w, 2) for w in walls],
                passed=runs[-1].get("passed"), skipped=runs[-1].get("skipped", 0))]
