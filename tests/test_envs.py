"""The conda environment pins exactly what the pip lock pins."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_conda_env_agrees_with_pip_lock():
    lock = dict(line.strip().lower().split("==") for line in
                (ROOT / "envs" / "requirements.lock").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    env = yaml.safe_load((ROOT / "envs" / "psymtl.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pins = dict(p.lower().split("==") for p in pip if "==" in p)
    assert pins, "no pins in envs/psymtl.yaml"
    assert {k: lock.get(k) for k in pins} == pins
    assert lock["torch"] == "2.13.0"  # pinned: an unpinned torch pulls gigabytes of CUDA
