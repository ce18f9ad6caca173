"""Architecture rules that import-linter cannot express (it sees third-party packages only at
their top level)."""

from __future__ import annotations

import ast
from pathlib import Path

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
