"""Runtime dependencies are what runtime code imports, for each distribution of the repository
(OneHub in src/, the collector in collector/src/): its pyproject.toml's `dependencies` names each
distribution its package imports, and each one it names is imported (or loaded by name by
another library, listed below with the reason); test-only packages belong in the dev extra."""

from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.metadata import Distribution, distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Project:
    distribution: str
    package: str
    pyproject: Path
    source: Path


PROJECTS = [
    Project("onehub", "onehub", ROOT / "pyproject.toml", ROOT / "src" / "onehub"),
    Project(
        "onehub-collector",
        "onehub_collector",
        ROOT / "collector" / "pyproject.toml",
        ROOT / "collector" / "src" / "onehub_collector",
    ),
]
# Installed editable, these distributions list no module files: their packages are named here.
FIRST_PARTY = {project.package: project.distribution for project in PROJECTS}

# Declared for run time though no module of ours imports them: another library loads them.
LOADED_BY_NAME = {
    "httptools": "uvicorn picks its C HTTP parser when installed",
    "aiosqlite": "SQLAlchemy's sqlite+aiosqlite dialect imports it",
    "asyncpg": "SQLAlchemy's postgresql+asyncpg dialect imports it",
}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(project: Project) -> set[str]:
    table = tomllib.loads(project.pyproject.read_text())["project"]
    return {
        _normal(re.split(r"[\s\[<>=!~;]", spec, maxsplit=1)[0]) for spec in table["dependencies"]
    }


def _imported_modules(project: Project) -> set[str]:
    names: set[str] = set()
    for path in project.source.rglob("*.py"):
        if "gen" in path.relative_to(project.source).parts[:1]:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    own = project.package
    return {name for name in names if name != own and not name.startswith(f"{own}.")}


@cache
def _owners() -> dict[str, str]:
    """Module name -> the installed distribution whose files hold it."""
    owners: dict[str, str] = {}
    for dist in distributions():
        for module in _modules(dist):
            owners.setdefault(module, _normal(dist.metadata["Name"]))
    return owners


def _modules(dist: Distribution) -> set[str]:
    modules: set[str] = set()
    for file in dist.files or ():
        parts = Path(str(file)).parts
        if not parts or not parts[-1].endswith(".py") or ".." in parts:
            continue
        if any(part.endswith((".dist-info", ".egg-info")) for part in parts):
            continue
        stem = [*parts[:-1], parts[-1].removesuffix(".py")]
        if stem[-1] == "__init__":
            stem.pop()
        if stem:
            modules.add(".".join(stem))
    return modules


def _owner(module: str) -> str | None:
    top = module.split(".", 1)[0]
    return FIRST_PARTY.get(top) or _owners().get(module)


def _distributions_imported(project: Project) -> set[str]:
    owners = {_owner(name) for name in _imported_modules(project)}
    return {owner for owner in owners if owner is not None}


@pytest.mark.parametrize("project", PROJECTS, ids=lambda project: project.distribution)
def test_every_imported_distribution_is_a_declared_runtime_dependency(project: Project) -> None:
    undeclared = sorted(_distributions_imported(project) - _declared(project))
    assert undeclared == [], (
        f"imported by {project.package} but not in {project.pyproject.relative_to(ROOT)}'s"
        f" dependencies: {undeclared}"
    )


@pytest.mark.parametrize("project", PROJECTS, ids=lambda project: project.distribution)
def test_every_runtime_dependency_is_imported_by_runtime_code(project: Project) -> None:
    unused = sorted(_declared(project) - _distributions_imported(project) - set(LOADED_BY_NAME))
    assert unused == [], (
        f"in {project.pyproject.relative_to(ROOT)}'s dependencies but never imported by"
        f" {project.package}: {unused}"
    )


def test_onehub_depends_on_the_collector_at_its_own_version() -> None:
    collector = tomllib.loads(PROJECTS[1].pyproject.read_text())["project"]
    onehub = tomllib.loads(PROJECTS[0].pyproject.read_text())["project"]
    assert f"onehub-collector=={collector['version']}" in onehub["dependencies"]
