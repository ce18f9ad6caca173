"""The README's "Try it" runs as written, pasted in order, against a real `onehub serve`.

The shell blocks under "Try it" are taken from README.md and run with `bash -e` from the top of
the repository (so `.venv/bin/onehub` is the repository's virtual environment). The server runs
on free ports instead of the defaults, so the test changes the addresses, and nothing else:
`localhost:9080` (REST) and `127.0.0.1:16686` (trace viewer) are replaced by the server's
ports, and `ONEHUB_SERVER` (the CLI's documented twin of `--server`, default 127.0.0.1:9000)
points the CLI at its gRPC port.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.cli_process import cli_env
from tests.ports import free_port

from .processes import stop, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
ONEHUB = ROOT / ".venv" / "bin" / "onehub"
REST_DEFAULT = "localhost:9080"
VIEWER_DEFAULT = "127.0.0.1:16686"
BLOCK_TIMEOUT_S = 60
TRACE_WAIT_S = 15
ADMIN = ("admin", "admin123")


def try_it_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Try it\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```\n(.*?)^```$", section, re.S | re.M)


@dataclass(frozen=True)
class Server:
    grpc: str
    rest: str
    viewer: str

    def rewrite(self, block: str) -> str:
        return block.replace(REST_DEFAULT, self.rest).replace(VIEWER_DEFAULT, self.viewer)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    assert ONEHUB.exists(), f"{ONEHUB} is missing: run `make setup` first"
    ports = [free_port() for _ in range(5)]
    grpc, rest, otlp_grpc, otlp_http, viewer = (f"127.0.0.1:{port}" for port in ports)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONEHUB_", "OTEL_"))}
    process = subprocess.Popen(
        [
            str(ONEHUB),
            "serve",
            "--addr",
            grpc,
            "--gw-addr",
            rest,
            "--otlp-grpc-addr",
            otlp_grpc,
            "--otlp-http-addr",
            otlp_http,
            "--ui-addr",
            viewer,
            "--db-endpoint",
            f"sqlite:///{tmp_path / 'onehub.db'}",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_healthy(f"http://{rest}", process)
        yield Server(grpc, rest, viewer)
    finally:
        stop(process)


def run_block(block: str, server: Server) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-c", server.rewrite(block)],
        cwd=ROOT,
        env={**cli_env(), "ONEHUB_SERVER": server.grpc},
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT_S,
    )


def wait_for_trace(server: Server, trace_id: str) -> dict[str, object]:
    """The trace from the viewer's Jaeger API, once its spans have been exported (about 1 s)."""
    deadline = time.monotonic() + TRACE_WAIT_S
    url = f"http://{server.viewer}/jaeger/api/traces/{trace_id}"
    while time.monotonic() < deadline:
        response = httpx.get(url, timeout=5)
        if response.status_code == 200:
            body: dict[str, object] = response.json()
            return body
        time.sleep(0.2)
    raise AssertionError(f"trace {trace_id} never reached the viewer")


def test_the_readme_try_it_section_runs_as_written(server: Server) -> None:
    blocks = try_it_blocks()
    assert len(blocks) == 3, blocks
    assert all("<" not in block for block in blocks), "nothing may be left to fill in by hand"

    # 1: topics over REST and over gRPC, the new id passed on by the shell.
    first = run_block(blocks[0], server)
    assert first.returncode == 0, first.stderr
    assert '"name":"Book club"' in first.stdout
    sent_to = re.search(r"^topic:\s+(\S+)$", first.stdout, re.M)
    assert sent_to, first.stdout
    assert re.search(r"^text:\s+hello$", first.stdout, re.M)
    topics = httpx.get(f"http://{server.rest}/api/v1/topics", auth=ADMIN).json()["topics"]
    names = {topic["base"]["id"]: topic["name"] for topic in topics}
    assert names[sent_to.group(1)] == "Weekend plans"
    assert sorted(names.values()) == ["Book club", "Weekend plans"]

    # 2: the trace id is the middle field of traceresponse, and the printed page is its trace.
    second = run_block(blocks[1], server)
    assert second.returncode == 0, second.stderr
    assert re.search(
        r"^traceresponse: 00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}\r?$", second.stdout, re.M
    )
    page = re.search(rf"http://{server.viewer}/jaeger/trace/([0-9a-f]{{32}})$", second.stdout, re.M)
    assert page, second.stdout
    assert httpx.get(page.group(0), timeout=5).status_code == 200
    trace = wait_for_trace(server, page.group(1))
    assert trace["data"], trace

    # 3: load that leaves nothing behind, then the demo community.
    third = run_block(blocks[2], server)
    assert third.returncode == 0, third.stderr
    progress = [line for line in third.stderr.splitlines() if line.startswith("loadgen ")]
    assert len(progress) >= 2, third.stderr
    assert "cleanup: deleted 3 topics (with their messages) and 3 users" in third.stdout
    assert "demo: added 30 users, 8 topics and 3000 messages" in third.stdout
    users = httpx.get(
        f"http://{server.rest}/api/v1/users", params={"pagination.page_size": 100}, auth=ADMIN
    ).json()
    topics = httpx.get(
        f"http://{server.rest}/api/v1/topics", params={"pagination.page_size": 100}, auth=ADMIN
    ).json()["topics"]
    assert len(users["users"]) == 30
    assert not any("loadgen" in user["id"] for user in users["users"])
    assert len(topics) == 2 + 8
    assert not any("loadgen" in topic["base"]["id"] for topic in topics)
