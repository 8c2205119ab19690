"""Packaging: the hashed pip lock, the conda env and pyproject.toml agree, every third-party
import of the package is a declared dependency, and the conda env finds the repository from
the copy Snakemake makes of it."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "envs" / "requirements.lock"
ENV = ROOT / "envs" / "psymtl.yaml"


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins() -> dict[str, str]:
    """Package -> version of the lock, which hashes every one."""
    text = LOCK.read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\$", text, flags=re.M))
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])  # after the header
    unhashed = [b.split()[0] for b in blocks if "--hash=sha256:" not in b]
    assert not unhashed, f"lock entries without a hash: {unhashed}"
    return {norm(k): v for k, v in pins.items()}


def env_pip() -> list[str]:
    env = yaml.safe_load(ENV.read_text())
    return next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def requirement_name(req: str) -> str:
    return norm(re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0])


def test_conda_env_agrees_with_pip_lock():
    lock = lock_pins()
    pins = {norm(p.split("==")[0]): p.split("==")[1] for p in env_pip() if "==" in p}
    assert pins, "no pins in envs/psymtl.yaml"
    assert {k: lock.get(k) for k in pins} == pins
    assert lock["torch"] == "2.13.0+cpu"  # pinned CPU build: an unpinned torch pulls CUDA


def test_lock_pins_every_dependency_and_extra_within_its_bounds():
    from packaging.requirements import Requirement

    lock = lock_pins()
    p = project()
    reqs = [*p["dependencies"], *(r for extra in p["optional-dependencies"].values()
                                  for r in extra)]
    for req in map(Requirement, reqs):
        if norm(req.name) == "psymtl":  # an extra naming other extras
            continue
        version = lock.get(norm(req.name))
        assert version, f"{req.name} is not in the lock"
        assert req.specifier.contains(version, prereleases=True), (req, version)
    assert set(p["optional-dependencies"]) >= {"dev", "bench", "openai"}
    runtime = {requirement_name(r) for r in p["dependencies"]}
    assert not runtime & {"accelerate", "deepsig", "psutil", "pytest"}  # test/bench only


def test_every_third_party_import_of_the_package_is_a_declared_dependency():
    from importlib.metadata import packages_distributions

    dists = packages_distributions()
    p = project()
    runtime = {requirement_name(r) for r in p["dependencies"]}
    optional = {requirement_name(r) for r in p["optional-dependencies"]["openai"]}
    stdlib = set(sys.stdlib_module_names)
    missing = []
    for path in (ROOT / "src" / "psymtl").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and not node.level
                     and node.module else [])
            for top in {n.split(".")[0] for n in names} - stdlib - {"psymtl"}:
                declared = {norm(d) for d in dists.get(top, [top])}
                if not declared & (runtime | optional):
                    missing.append(f"{path.relative_to(ROOT)}: {top}")
    assert not missing, "imports without a declared dependency:\n" + "\n".join(missing)


def test_setuptools_takes_the_spdx_licence():
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]
    (req,) = [r for r in build["requires"] if r.startswith("setuptools")]
    assert re.fullmatch(r"setuptools>=(\d+)", req.split("#")[0].strip())
    assert int(req.split(">=")[1]) >= 77  # PEP 639: license = "MIT", license-files
    assert project()["license"] == "MIT" and (ROOT / "LICENSE").is_file()


@pytest.fixture
def snakemake_env_copy(tmp_path: Path) -> Path:
    """The env file where Snakemake puts it before `conda env create --file`: Snakemake's own
    ``Env`` names the env folder (<working directory>/.snakemake/conda/<hash>, the default
    of ``Persistence.conda_env_path``) and copies the file beside it as <hash>.yaml; conda
    then writes the pip section to a requirements file in that folder and runs pip there
    (conda.env.installers.pip)."""
    from types import SimpleNamespace

    from snakemake.deployment.conda import Env

    workdir = tmp_path / "repo"  # a repository root: the package's metadata and sources
    for name in ("pyproject.toml", "README.md", "LICENSE", "envs/psymtl.yaml"):
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).write_bytes((ROOT / name).read_bytes())
    (workdir / "src" / "psymtl").mkdir(parents=True)
    (workdir / "src" / "psymtl" / "__init__.py").write_text('__version__ = "0.1.0"\n')
    def local(f) -> Path:  # a LocalSourceFile's path
        return Path(f.get_path_or_uri(secret_free=True))

    sources = SimpleNamespace(open=lambda f, mode="r": local(f).open(mode),
                              exists=lambda f: local(f).exists())
    workflow = SimpleNamespace(
        persistence=SimpleNamespace(conda_env_path=str(workdir / ".snakemake" / "conda")),
        sourcecache=sources, deployment_settings=SimpleNamespace(apptainer_args=""),
        runtime_paths=[])
    env = Env(workflow, env_file=str(workdir / "envs" / "psymtl.yaml"))
    env._conda = SimpleNamespace(platform="linux-64")  # conda itself is not needed here
    copy = Path(env.address + ".yaml")  # as Env.create names its copy
    copy.parent.mkdir(parents=True)
    copy.write_bytes(env.content)
    return copy


def test_the_conda_env_installs_psymtl_from_the_copy_snakemake_makes(snakemake_env_copy):
    """pip, run as conda runs it for the copied env file, resolves `-e` to the repository."""
    editable = [line for line in env_pip() if line.startswith("-e ")]
    assert editable == ["-e ../.."]
    req = snakemake_env_copy.parent / "condaenv.test.requirements.txt"
    req.write_text("\n".join(editable) + "\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--no-index",
         "--no-build-isolation", "--quiet", "--report", "-", "-r", req.name],
        cwd=snakemake_env_copy.parent, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (item,) = json.loads(proc.stdout)["install"]
    assert item["metadata"]["name"] == "psymtl" and item["is_direct"]
    repo = snakemake_env_copy.parents[2]
    assert snakemake_env_copy.parent == repo / ".snakemake" / "conda"
    assert item["download_info"]["url"] == repo.as_uri()
    assert item["metadata"]["version"] == "0.1.0"
