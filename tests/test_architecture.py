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

# (module file, the import added to it): each breaks one rule of the architecture.
SERVICES = "Services know no storage engine, transport, generated code or settings"
FORBIDDEN_IMPORTS = [
    ("services/paging.py", "import sqlalchemy", SERVICES),
    ("services/paging.py", "import onehub.gen.onehub.v1.models_pb2", SERVICES),
    ("services/paging.py", "import onehub.config", SERVICES),
    ("services/paging.py", "import onehub.storage.keyset", "Layers point inward"),
    ("domain/models.py", "import onehub.config", "The domain is plain Python"),
    ("storage/keyset.py", "import onehub.transport.grpc.limits", "Storage knows no transport"),
    ("storage/keyset.py", "import grpc", "Storage knows no transport"),
    ("transport/grpc/convert.py", "import onehub.storage.tables", "Transports know no storage"),
    ("transport/gateway/routes.py", "import sqlalchemy", "Transports know no storage"),
    ("cli/output.py", "import onehub.storage.engine", "Only the composition root wires"),
    ("collector/durations.py", "import onehub.config", "The collector knows nothing of chat"),
    ("netaddr.py", "import onehub.collector.durations", "Address parsing is a leaf"),
]


def _lint_imports_on_copy(
    tmp_path: Path, edit: tuple[str, str] | None
) -> subprocess.CompletedProcess[str]:
    """Run lint-imports with the project's contracts over a copy of src/onehub, edited."""
    copy = tmp_path / "src" / "onehub"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    if edit is not None:
        module, line = edit
        target = copy / module
        target.write_text(f"{line}  # noqa\n{target.read_text()}")
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "src")},
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
    broken = [row for row in result.stdout.splitlines() if row.endswith(" BROKEN")]
    assert any(row.startswith(contract) for row in broken), broken
