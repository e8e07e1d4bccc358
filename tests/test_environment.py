"""pyproject.toml (pip) and environment.yml (conda) declare the same packages and version bounds."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parent.parent
# conda-forge names that differ from PyPI's.
CONDA_TO_PYPI = {"pytorch": "torch"}
# Tools of the conda environment itself, not dependencies of the project.
CONDA_ONLY = {"pip"}


def pip_requirements(pyproject: str) -> dict[str, SpecifierSet]:
    """name -> version bounds of the dependencies and the test extra, plus python."""
    project = tomllib.loads(pyproject)["project"]
    reqs = {"python": SpecifierSet(project["requires-python"])}
    for line in project["dependencies"] + project["optional-dependencies"]["test"]:
        req = Requirement(line)
        reqs[canonicalize_name(req.name)] = req.specifier
    return reqs


def conda_requirements(environment: str) -> dict[str, SpecifierSet]:
    """name -> version bounds of the conda packages and of the pip section (PyPI names)."""
    reqs = {}
    for entry in yaml.safe_load(environment)["dependencies"]:
        if isinstance(entry, dict):
            # The pip section: requirements, and "-e ." (this project) which is not one.
            for line in entry["pip"]:
                if not line.startswith("-"):
                    req = Requirement(line)
                    reqs[canonicalize_name(req.name)] = req.specifier
            continue
        req = Requirement(entry.replace(" ", ""))
        name = canonicalize_name(req.name)
        if name not in CONDA_ONLY:
            reqs[CONDA_TO_PYPI.get(name, name)] = req.specifier
    return reqs


def mismatches(pyproject: str, environment: str) -> list[str]:
    pip, conda = pip_requirements(pyproject), conda_requirements(environment)
    problems = [f"{n}: only in pyproject.toml" for n in sorted(pip.keys() - conda.keys())]
    problems += [f"{n}: only in environment.yml" for n in sorted(conda.keys() - pip.keys())]
    problems += [
        f"{n}: pyproject.toml says {pip[n] or 'any'}, environment.yml says {conda[n] or 'any'}"
        for n in sorted(pip.keys() & conda.keys())
        if pip[n] != conda[n]
    ]
    return problems


def test_pyproject_and_environment_agree():
    pyproject = (REPO / "pyproject.toml").read_text()
    environment = (REPO / "environment.yml").read_text()
    assert mismatches(pyproject, environment) == []
    assert "torch" in conda_requirements(environment)  # found under its conda name, pytorch


def test_environment_installs_the_project_itself():
    pip_section = next(
        e["pip"]
        for e in yaml.safe_load((REPO / "environment.yml").read_text())["dependencies"]
        if isinstance(e, dict)
    )
    assert "-e ." in pip_section


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("seaborn>=0.13", "seaborn>=0.12", "seaborn: pyproject.toml says >=0.13"),
        ("jupyter-book>=1.0.4,<2", "jupyter-book>=1.0.4", "jupyter-book: pyproject.toml says"),
        ("  - tqdm>=4.60\n", "", "tqdm: only in pyproject.toml"),
        ("  - ruff>=0.5\n", "  - ruff>=0.5\n  - scipy\n", "scipy: only in environment.yml"),
        ("python>=3.10", "python>=3.12", "python: pyproject.toml says >=3.10"),
        ("sphinx-mathjax-offline>=0.0.2", "sphinx-mathjax-offline", "sphinx-mathjax-offline"),
    ],
)
def test_a_disagreement_is_reported(old, new, problem):
    pyproject = (REPO / "pyproject.toml").read_text()
    environment = (REPO / "environment.yml").read_text()
    assert old in environment
    found = mismatches(pyproject, environment.replace(old, new, 1))
    assert any(p.startswith(problem) for p in found), found
