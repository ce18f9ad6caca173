"""Property-based fuzzing of the REST API from its own OpenAPI document: never a 5xx.

Schemathesis (a real, independent client) reads /api/openapi.json from a running
`onehub serve` and throws generated and mutated requests at every operation, signed in as
admin. The seed is fixed so that a run is reproducible.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ports import free_port

from .processes import start_serve, stop, wait_healthy

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    gw_port = free_port()
    process = start_serve(
        tmp_path, "--addr", f"127.0.0.1:{free_port()}", "--gw-addr", f"127.0.0.1:{gw_port}"
    )
    url = f"http://127.0.0.1:{gw_port}"
    try:
        wait_healthy(url, process)
        # Some data for the operations that read and change existing rows.
        auth = ("admin", "admin123")
        httpx.post(f"{url}/v1/users", json={"user": {"id": "alice", "name": "Alice"}}, auth=auth)
        httpx.post(
            f"{url}/v1/topics", json={"topic": {"base": {"id": "t1"}, "name": "t"}}, auth=auth
        )
        yield url
    finally:
        _, err = stop(process)
        assert "Traceback" not in err, err


@pytest.mark.slow
def test_no_server_errors_under_fuzzing(server: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{server}/api/openapi.json",
            "--checks",
            "not_a_server_error",
            "--auth",
            "admin:admin123",
            "--max-examples",
            "6",
            "--seed",
            "20261125",
            "--workers",
            "1",
            "--generation-database",
            "none",
            "--phases",
            "examples,coverage,fuzzing",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert "passed" in result.stdout
