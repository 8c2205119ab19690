"""Shared fixtures: a copy of the workflow to run Snakemake in, and the real-data folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from workflow_copy import ROOT
from workflow_copy import copy_workflow as copy_workflow_files

SHARED_DATA = Path(os.environ.get("PSYMTL_SHARED_DATA", ROOT.parent / "shared" / "data"))


def copy_workflow(dest: Path) -> Path:
    """The workflow and the tests' configs."""
    copy_workflow_files(dest)
    shutil.copytree(ROOT / "tests" / "configs", dest / "tests" / "configs")
    return dest


def snakemake(workdir: Path, *args: str, check: bool = True,
              timeout: int = 900) -> subprocess.CompletedProcess:
    """Run Snakemake of this interpreter's environment inside ``workdir``."""
    exe = Path(sys.executable).with_name("snakemake")
    proc = subprocess.run([str(exe), *args], cwd=workdir, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n"
                             f"{proc.stderr[-4000:]}")
    return proc


@pytest.fixture
def workflow(tmp_path: Path) -> Path:
    return copy_workflow(tmp_path / "wf")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real datasets not present at {SHARED_DATA}")
    return SHARED_DATA


FIRST = ("test_workflow.py", "test_slurm.py", "test_inputs.py")  # the long files start first


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the files that take minutes first, so the workers finish together."""
    items.sort(key=lambda it: FIRST.index(it.path.name) if it.path.name in FIRST else len(FIRST))
