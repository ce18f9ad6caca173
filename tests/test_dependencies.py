"""Runtime dependencies are what runtime code imports: pyproject.toml's `dependencies` names
each distribution src/onehub imports, and each one it names is imported (or loaded by name by
another library, listed below with the reason); test-only packages belong in the dev extra."""

from __future__ import annotations

import ast
import re
import tomllib
from functools import cache
from importlib.metadata import Distribution, distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "onehub"

# Declared for run time though no module of ours imports them: another library loads them.
LOADED_BY_NAME = {
    "httptools": "uvicorn picks its C HTTP parser when installed",
    "aiosqlite": "SQLAlchemy's sqlite+aiosqlite dialect imports it",
    "asyncpg": "SQLAlchemy's postgresql+asyncpg dialect imports it",
}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {
        _normal(re.split(r"[\s\[<>=!~;]", spec, maxsplit=1)[0]) for spec in project["dependencies"]
    }


def _imported_modules() -> set[str]:
    names: set[str] = set()
    for path in SRC.rglob("*.py"):
        if "gen" in path.relative_to(SRC).parts[:1]:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if not name.startswith("onehub")}


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


def _distributions_imported() -> set[str]:
    owners = _owners()
    return {owners[name] for name in _imported_modules() if name in owners} - {"onehub"}


def test_every_imported_distribution_is_a_declared_runtime_dependency() -> None:
    undeclared = sorted(_distributions_imported() - _declared())
    assert undeclared == [], (
        f"imported by src/onehub but not in [project] dependencies: {undeclared}"
    )


def test_every_runtime_dependency_is_imported_by_runtime_code() -> None:
    unused = sorted(_declared() - _distributions_imported() - set(LOADED_BY_NAME))
    assert unused == [], f"in [project] dependencies but never imported by src/onehub: {unused}"
