"""The libraries whose private parts OneHub relies on are pinned exactly, to the versions the
compat modules were checked against, in pyproject.toml and constraints.txt alike."""

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
COMPAT_MODULES = [
    "onehub.telemetry.compat.otel_sdk",
    "onehub.telemetry.compat.otlp_exporter",
    "onehub.telemetry.compat.sqlalchemy_instrumentation",
    "onehub.transport.gateway.grpc_aio_compat",
    "onehub.storage.sqlite_driver",
    "onehub.collector.uvicorn_compat",
]
# Families pinned as a whole: their members are released together and share private code.
PINNED_FAMILIES = ("grpcio", "opentelemetry-")
PINNED = {"uvicorn", "sqlalchemy", "aiosqlite"}


def requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
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


def must_be_pinned(name: str) -> bool:
    return name in PINNED or name.startswith(PINNED_FAMILIES)


@pytest.mark.parametrize("module_name", COMPAT_MODULES)
def test_each_library_is_the_version_its_compat_module_was_checked_against(
    module_name: str,
) -> None:
    module: ModuleType = importlib.import_module(module_name)
    checked: dict[str, str] = module.CHECKED_AGAINST
    pins = {canonicalize_name(r.name): exact_pin(r) for r in requirements()}
    for distribution, version in checked.items():
        name = canonicalize_name(distribution)
        assert installed(distribution) == version, (
            f"{distribution} {installed(distribution)} is installed, but {module_name} was"
            f" checked against {version}: re-read the private names its docstring lists, run"
            " tests/compat, then update its CHECKED_AGAINST and docstring"
        )
        assert version in (module.__doc__ or ""), f"{module_name}'s docstring must name {version}"
        assert pins.get(name) == version, f"pyproject.toml must pin {distribution}=={version}"


def test_libraries_with_private_parts_in_use_are_pinned_exactly_and_match_the_lock() -> None:
    lock = locked()
    pinned = {
        canonicalize_name(r.name): exact_pin(r)
        for r in requirements()
        if must_be_pinned(canonicalize_name(r.name))
    }

    assert {"grpcio", "uvicorn", "sqlalchemy", "opentelemetry-sdk"} <= pinned.keys()
    loose = sorted(name for name, version in pinned.items() if version is None)
    assert loose == [], f"pin these exactly (==) in pyproject.toml: {loose}"
    drift = {name: (v, lock.get(name)) for name, v in pinned.items() if lock.get(name) != v}
    assert drift == {}, f"pyproject.toml and constraints.txt disagree (pin, lock): {drift}"


def test_every_locked_grpcio_package_is_pinned() -> None:
    # grpcio's companions (reflection, health checking, tools) move with its C core.
    pinned = {canonicalize_name(r.name) for r in requirements()}
    unpinned = sorted(name for name in locked() if name.startswith("grpcio") and name not in pinned)
    assert unpinned == [], f"pin these exactly in pyproject.toml too: {unpinned}"
