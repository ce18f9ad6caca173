"""Architecture rules that import-linter cannot express (it sees third-party packages only at
their top level)."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "onehub"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_telemetry_imports_the_opentelemetry_sdk() -> None:
    offenders = sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "telemetry" not in path.relative_to(SRC).parts[:1]
        and any(
            name == "opentelemetry.sdk" or name.startswith("opentelemetry.sdk.")
            for name in _imports(path)
        )
    )
    assert offenders == [], f"only onehub.telemetry may import opentelemetry.sdk: {offenders}"


def test_the_rule_sees_an_sdk_import(tmp_path: Path) -> None:
    # The check above must be able to fail: it recognises both import forms.
    sample = tmp_path / "sample.py"
    sample.write_text("import opentelemetry.sdk.trace\nfrom opentelemetry.sdk import resources\n")
    assert {"opentelemetry.sdk.trace", "opentelemetry.sdk"} <= _imports(sample)


ROOT = SRC.parent.parent
# The source trees lint-imports reads: OneHub's and the collector's (its own distribution).
SOURCE_TREES = ["src/onehub", "collector/src/onehub_collector"]

# (module file, the import added to it): each breaks one rule of the architecture.
SERVICES = "Services know no storage engine, transport, generated code or settings"
ONEHUB, COLLECTOR = "src/onehub", "collector/src/onehub_collector"
USERS = "Only the composition root and the CLI use the collector"
FORBIDDEN_IMPORTS = [
    (f"{ONEHUB}/services/paging.py", "import sqlalchemy", SERVICES),
    (f"{ONEHUB}/services/paging.py", "import onehub.gen.onehub.v1.models_pb2", SERVICES),
    (f"{ONEHUB}/services/paging.py", "import onehub.config", SERVICES),
    (f"{ONEHUB}/services/paging.py", "import onehub.storage.keyset", "Layers point inward"),
    (f"{ONEHUB}/services/paging.py", "import onehub_collector.durations", SERVICES),
    (f"{ONEHUB}/domain/models.py", "import onehub.config", "The domain is plain Python"),
    (f"{ONEHUB}/storage/keyset.py", "import onehub.transport.grpc.limits", "Storage knows no"),
    (f"{ONEHUB}/storage/keyset.py", "import grpc", "Storage knows no transport"),
    (f"{ONEHUB}/transport/grpc/convert.py", "import onehub.storage.tables", "Transports know"),
    (f"{ONEHUB}/transport/gateway/routes.py", "import sqlalchemy", "Transports know no storage"),
    (f"{ONEHUB}/transport/gateway/routes.py", "import onehub_collector.servers", USERS),
    (f"{ONEHUB}/telemetry/config.py", "import onehub_collector.config", USERS),
    (f"{ONEHUB}/cli/output.py", "import onehub.storage.engine", "Only the composition root"),
    (f"{COLLECTOR}/durations.py", "import onehub.config", "The collector knows nothing of"),
    (f"{COLLECTOR}/servers.py", "import onehub", "The collector knows nothing of OneHub"),
    (f"{COLLECTOR}/netaddr.py", "import onehub_collector.durations", "Address parsing is a"),
]


def _lint_imports_on_copy(
    tmp_path: Path, edit: tuple[str, str] | None
) -> subprocess.CompletedProcess[str]:
    """Run lint-imports with the project's contracts over a copy of both source trees, edited."""
    for tree in SOURCE_TREES:
        ignore = shutil.ignore_patterns("__pycache__", "static")
        shutil.copytree(ROOT / tree, tmp_path / tree, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    if edit is not None:
        module, line = edit
        target = tmp_path / module
        target.write_text(f"{line}  # noqa\n{target.read_text()}")
    # The copies come first on the path, before the installed (editable) originals.
    path = os.pathsep.join(str(tmp_path / Path(tree).parent) for tree in SOURCE_TREES)
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_pass_on_an_unedited_copy(tmp_path: Path) -> None:
    result = _lint_imports_on_copy(tmp_path, None)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("module", "line", "contract"), FORBIDDEN_IMPORTS)
def test_a_forbidden_import_breaks_a_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    result = _lint_imports_on_copy(tmp_path, (module, line))
    assert result.returncode != 0, f"{line} in {module} broke no contract:\n{result.stdout}"
    # "<contract> BROKEN", with " (n ignored imports)" after it for a contract that has some.
    broken = [row for row in result.stdout.splitlines() if " BROKEN" in row]
    assert any(row.startswith(contract) for row in broken), broken
