"""`onehub demo` against a real server (SQLite and PostgreSQL), as a person runs it."""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from onehub.app import RunningOneHub
from onehub.cli.main import main
from tests.e2e import cli_process
from tests.ports import free_port

DEMO_TIMEOUT_S = 60
ROOT = Path(__file__).resolve().parents[2]


async def run_onehub(*args: str) -> tuple[int, str, str]:
    """`onehub ARGS` as a child process, so that the server keeps running on this loop."""
    return await cli_process.run_onehub(*args, timeout_s=DEMO_TIMEOUT_S)


async def all_pages(api: httpx.AsyncClient, path: str, key: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    page_key = ""
    while True:
        response = await api.get(
            path, params={"pagination.page_size": 1000, "pagination.page_key": page_key}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        items += body[key]
        page_key = body["pagination"]["nextPageKey"]
        if not page_key:
            return items


async def test_demo_fills_a_fresh_server_quickly_and_a_second_run_adds_nothing(
    hub: RunningOneHub, api: httpx.AsyncClient
) -> None:
    began = time.monotonic()
    status, out, err = await run_onehub("--server", hub.grpc_target, "demo")
    took = time.monotonic() - began

    assert status == 0, err
    assert "demo: added 30 users, 8 topics and 3000 messages" in out
    assert took < DEMO_TIMEOUT_S

    users = await all_pages(api, "/v1/users", "users")
    assert len(users) == 30
    assert all(
        u["name"].count(" ") == 1 and u["avatar"].startswith("data:image/svg+xml") for u in users
    )
    assert all({"city", "interests", "bio"} <= set(u["profileData"]) for u in users)
    topics = await all_pages(api, "/v1/topics", "topics")
    assert len(topics) == 8
    user_ids = {u["id"] for u in users}
    assert all(set(t["users"]) <= user_ids and len(t["users"]) >= 4 for t in topics)

    messages: list[dict[str, Any]] = []
    for topic in topics:
        in_topic = await all_pages(api, f"/v1/topics/{topic['base']['id']}/messages", "messages")
        # Every sender is a member of the topic; threaded replies answer a message of the topic.
        assert {m["base"]["creatorId"] for m in in_topic} <= set(topic["users"])
        ids = {m["base"]["id"] for m in in_topic}
        assert {m["parentMessageId"] for m in in_topic if m["parentMessageId"]} <= ids
        messages += in_topic
    assert len(messages) == 3000
    assert sum(1 for m in messages if m["parentMessageId"]) > 100

    # A week of talk with its own timestamps, busier in the evening than at night.
    now = datetime.now(UTC)
    stamps = [datetime.fromisoformat(m["base"]["createdAt"]) for m in messages]
    assert all(now - timedelta(days=7, hours=1) <= s <= now for s in stamps)
    assert len({s.date() for s in stamps}) >= 6
    hours = Counter(s.hour for s in stamps)
    assert sum(hours[h] for h in range(18, 22)) > 3 * sum(hours[h] for h in range(1, 5))
    assert len({m["contentBase"]["contentText"] for m in messages}) > 300

    status, out, err = await run_onehub("--server", hub.grpc_target, "demo")
    assert status == 0, err
    assert "nothing added" in out
    assert len(await all_pages(api, "/v1/users", "users")) == 30
    assert len(await all_pages(api, "/v1/topics", "topics")) == 8
    search = await api.get("/v1/messages", params={"pagination.page_size": 1})
    assert search.json()["pagination"]["totalNumResults"] == 3000


async def test_demo_completes_what_an_earlier_run_left_half_done(
    hub: RunningOneHub, api: httpx.AsyncClient
) -> None:
    status, _, err = await run_onehub(
        "--server", hub.grpc_target, "demo", "--users", "5", "--messages", "1500"
    )
    assert status == 0, err
    # As if it had been interrupted: one topic and one user gone, a message deleted.
    assert (await api.delete("/v1/topics/book-club")).status_code == 200
    victim = (await all_pages(api, "/v1/users", "users"))[0]["id"]
    assert (await api.delete(f"/v1/users/{victim}")).status_code == 200
    left = await api.get("/v1/messages", params={"pagination.page_size": 1})
    remaining = left.json()["pagination"]["totalNumResults"]
    assert remaining < 1500

    status, out, err = await run_onehub(
        "--server", hub.grpc_target, "demo", "--users", "5", "--messages", "1500"
    )
    assert status == 0, err
    assert f"added 1 users, 1 topics and {1500 - remaining} messages" in out
    search = await api.get("/v1/messages", params={"pagination.page_size": 1})
    assert search.json()["pagination"]["totalNumResults"] == 1500


async def test_demo_as_a_non_admin_is_refused_in_one_line(hub: RunningOneHub) -> None:
    status, _, err = await run_onehub(
        "--server", hub.grpc_target, "--user", "alice", "--password", "alice123", "demo"
    )
    assert status == 1
    assert err.startswith("error: PERMISSION_DENIED")
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


@pytest.mark.parametrize("server", ["10.1.2.3:9000", "example.com:9000"])
def test_demo_refuses_a_remote_server_before_any_traffic(
    server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--server", server, "demo"]) == 2
    err = capsys.readouterr().err
    assert f"refusing to write demo data to {server}" in err
    assert "--allow-remote" in err


def test_demo_without_a_server_says_how_to_start_one(capsys: pytest.CaptureFixture[str]) -> None:
    closed = f"127.0.0.1:{free_port()}"

    assert main(["--server", closed, "--timeout", "5", "demo"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: UNAVAILABLE: cannot reach the OneHub server at {closed}")
    assert "onehub serve" in err


def test_make_demo_runs_onehub_demo() -> None:
    # `make -n`: print what it would run; without the flags of a `make test` around this test.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    dry_run = subprocess.run(
        ["make", "-n", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert dry_run.strip().splitlines()[-1] == ".venv/bin/onehub demo"
    assert "make demo" in (ROOT / "README.md").read_text()
