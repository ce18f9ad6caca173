"""The libraries whose private parts OneHub and its collector rely on are pinned exactly, to the
versions the compat modules were checked against, in the pyproject.toml of the distribution that
holds the compat module (pyproject.toml, collector/pyproject.toml) and in constraints.txt alike."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .tripwire import installed

ROOT = Path(__file__).resolve().parents[2]
ONEHUB = ROOT / "pyproject.toml"
COLLECTOR = ROOT / "collector" / "pyproject.toml"
# Each compat module and the pyproject.toml of the distribution it belongs to.
COMPAT_MODULES = {
    "onehub.telemetry.compat.otel_sdk": ONEHUB,
    "onehub.telemetry.compat.otlp_exporter": ONEHUB,
    "onehub.telemetry.compat.sqlalchemy_instrumentation": ONEHUB,
    "onehub.transport.gateway.grpc_aio_compat": ONEHUB,
    "onehub.storage.sqlite_driver": ONEHUB,
    "onehub_collector.uvicorn_compat": COLLECTOR,
}
# Families pinned as a whole in OneHub: their members are released together and share private
# code. The collector uses no private part of them, so it takes ranges.
PINNED_FAMILIES = ("grpcio", "opentelemetry-")
PINNED = {ONEHUB: {"sqlalchemy", "aiosqlite"}, COLLECTOR: {"uvicorn"}}
MUST_PIN = {ONEHUB: {"grpcio", "sqlalchemy", "opentelemetry-sdk"}, COLLECTOR: {"uvicorn"}}


def requirements(pyproject: Path) -> list[Requirement]:
    project = tomllib.loads(pyproject.read_text())["project"]
    extras = project.get("optional-dependencies", {})
    listed = [*project["dependencies"], *extras.get("dev", [])]
    return [Requirement(text) for text in listed]


def locked() -> dict[str, str]:
    versions = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            versions[canonicalize_name(name)] = version
    return versions


def exact_pin(requirement: Requirement) -> str | None:
    [*specifiers] = requirement.specifier
    if len(specifiers) == 1 and specifiers[0].operator == "==":
        return specifiers[0].version
    return None


def must_be_pinned(pyproject: Path, name: str) -> bool:
    family = pyproject == ONEHUB and name.startswith(PINNED_FAMILIES)
    return name in PINNED[pyproject] or family


@pytest.mark.parametrize("module_name", COMPAT_MODULES)
def test_each_library_is_the_version_its_compat_module_was_checked_against(
    module_name: str,
) -> None:
    module: ModuleType = importlib.import_module(module_name)
    checked: dict[str, str] = module.CHECKED_AGAINST
    pyproject = COMPAT_MODULES[module_name]
    where = pyproject.relative_to(ROOT)
    pins = {canonicalize_name(r.name): exact_pin(r) for r in requirements(pyproject)}
    for distribution, version in checked.items():
        name = canonicalize_name(distribution)
        assert installed(distribution) == version, (
            f"{distribution} {installed(distribution)} is installed, but {module_name} was"
            f" checked against {version}: re-read the private names its docstring lists, run"
            " tests/compat, then update its CHECKED_AGAINST and docstring"
        )
        assert version in (module.__doc__ or ""), f"{module_name}'s docstring must name {version}"
        assert pins.get(name) == version, f"{where} must pin {distribution}=={version}"


@pytest.mark.parametrize("pyproject", [ONEHUB, COLLECTOR], ids=["onehub", "onehub-collector"])
def test_libraries_with_private_parts_in_use_are_pinned_exactly_and_match_the_lock(
    pyproject: Path,
) -> None:
    lock = locked()
    where = pyproject.relative_to(ROOT)
    pinned = {
        canonicalize_name(r.name): exact_pin(r)
        for r in requirements(pyproject)
        if must_be_pinned(pyproject, canonicalize_name(r.name))
    }

    assert MUST_PIN[pyproject] <= pinned.keys()
    loose = sorted(name for name, version in pinned.items() if version is None)
    assert loose == [], f"pin these exactly (==) in {where}: {loose}"
    drift = {name: (v, lock.get(name)) for name, v in pinned.items() if lock.get(name) != v}
    assert drift == {}, f"{where} and constraints.txt disagree (pin, lock): {drift}"


def test_every_locked_grpcio_package_is_pinned() -> None:
    # grpcio's companions (reflection, health checking, tools) move with its C core.
    pinned = {canonicalize_name(r.name) for r in requirements(ONEHUB)}
    unpinned = sorted(name for name in locked() if name.startswith("grpcio") and name not in pinned)
    assert unpinned == [], f"pin these exactly in pyproject.toml too: {unpinned}"
