"""`onehub loadgen` as a person runs it against a real server (SQLite and PostgreSQL): live
progress on stderr, a final table over the real elapsed time, and nothing left behind."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import signal
from typing import Any

import httpx

from onehub.app import RunningOneHub
from tests.e2e.cli_process import onehub_process, run_onehub

RUN_TIMEOUT_S = 60
PROGRESS = re.compile(
    r"^loadgen +\d+\.\ds  ok \d+  errors 0  \d+\.\d ops/s  p50 \d+\.\d\d ms  p99 \d+\.\d\d ms$"
)


async def run_loadgen(hub: RunningOneHub, *args: str, stderr: Any = None) -> tuple[int, str, str]:
    return await run_onehub(
        "--server",
        hub.grpc_target,
        "loadgen",
        *args,
        timeout_s=RUN_TIMEOUT_S,
        stderr=asyncio.subprocess.PIPE if stderr is None else stderr,
    )


async def test_progress_lines_then_a_table_whose_rate_is_over_the_real_elapsed_time(
    hub: RunningOneHub,
) -> None:
    # A count run: its nominal duration is the hour-long backstop, its real one about 2 s.
    status, out, err = await run_loadgen(
        hub, "--count", "200", "--rate", "100", "--users", "2", "--topics", "2", "--cleanup"
    )

    assert status == 0, err
    progress = [line for line in err.splitlines() if line.startswith("loadgen ")]
    assert len(progress) >= 1, err
    assert all(PROGRESS.match(line) for line in progress), progress
    assert "\r" not in err
    assert "\x1b" not in err

    header = re.search(
        r"^loadgen run \w+ via grpc against \S+: (\d+\.\d\d)s, stopped by count$", out, re.M
    )
    assert header, out
    elapsed = float(header.group(1))
    assert 1.5 <= elapsed < 60
    overall = re.search(r"^all +(\d+) +0 +(\d+\.\d) ", out, re.M)
    assert overall, out
    ok, ops_per_s = int(overall.group(1)), float(overall.group(2))
    assert ok == 200
    assert abs(ops_per_s - ok / elapsed) <= 0.01 * ok / elapsed + 0.05


async def test_progress_rewrites_one_line_on_a_terminal(hub: RunningOneHub) -> None:
    leader, follower = pty.openpty()
    try:
        status, out, _ = await run_loadgen(
            hub,
            "--count",
            "200",
            "--rate",
            "100",
            "--users",
            "1",
            "--topics",
            "1",
            "--cleanup",
            stderr=follower,
        )
        os.close(follower)
        follower = -1
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal's other end is closed: all of it was read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)

    assert status == 0
    text = shown.decode()
    assert text.count("\r\x1b[K") >= 1, text
    # One line, rewritten in place, then ended before the table on stdout.
    assert text.rstrip("\r\n").count("\n") == 0, text
    assert "create_message" in out


async def test_cleanup_removes_what_the_run_created_and_nothing_else(
    hub: RunningOneHub, api: httpx.AsyncClient
) -> None:
    # Someone's data, there before the run.
    assert (
        await api.post("/v1/users", json={"user": {"id": "alice", "name": "Alice"}})
    ).status_code == 200
    created = await api.post(
        "/v1/topics",
        json={"topic": {"base": {"id": "family"}, "name": "Family", "users": {"alice": True}}},
    )
    assert created.status_code == 200
    posted = await api.post(
        "/v1/topics/family/messages",
        json={
            "messages": [
                {"base": {"creatorId": "alice"}, "contentBase": {"contentText": f"note {i}"}}
                for i in range(3)
            ],
            "allowUserids": True,
        },
    )
    assert posted.status_code == 200
    before = {
        "users": (await api.get("/v1/users")).json(),
        "topics": (await api.get("/v1/topics")).json(),
        "messages": (await api.get("/v1/topics/family/messages")).json(),
    }

    # Without --cleanup, the run's users and topics are there, named after it.
    status, out, err = await run_loadgen(
        hub, "--count", "30", "--rate", "0", "--users", "2", "--topics", "2"
    )
    assert status == 0, err
    run_id = re.search(r"^loadgen run (\w+) ", out, re.M)
    assert run_id, out
    users = {u["id"] for u in (await api.get("/v1/users")).json()["users"]}
    assert users == {
        "alice",
        f"loadgen-{run_id.group(1)}-user-0",
        f"loadgen-{run_id.group(1)}-user-1",
    }

    # With it, the run leaves nothing behind; the first run's leftovers are its own business.
    status, out, err = await run_loadgen(
        hub, "--count", "60", "--rate", "0", "--users", "3", "--topics", "2", "--cleanup"
    )
    assert status == 0, err
    assert "cleanup: deleted 2 topics (with their messages) and 3 users" in out
    second = re.search(r"^loadgen run (\w+) ", out, re.M)
    assert second
    assert second.group(1) != run_id.group(1)
    users = {u["id"] for u in (await api.get("/v1/users")).json()["users"]}
    topics = {t["base"]["id"] for t in (await api.get("/v1/topics")).json()["topics"]}
    assert not any(second.group(1) in name for name in users | topics)
    search = await api.get("/v1/messages", params={"search_phrase": second.group(1)})
    assert search.json()["messages"] == []

    leftovers = await api.get("/v1/messages", params={"search_phrase": run_id.group(1)})
    assert len(leftovers.json()["messages"]) == 30 - 2 - 2

    # The first run's leftovers removed by hand; then everything is exactly as it was.
    for i in range(2):
        assert (
            await api.delete(f"/v1/topics/loadgen-{run_id.group(1)}-topic-{i}")
        ).status_code == 200
        assert (
            await api.delete(f"/v1/users/loadgen-{run_id.group(1)}-user-{i}")
        ).status_code == 200
    after = {
        "users": (await api.get("/v1/users")).json(),
        "topics": (await api.get("/v1/topics")).json(),
        "messages": (await api.get("/v1/topics/family/messages")).json(),
    }
    assert after == before


async def test_ctrl_c_stops_the_run_and_cleanup_still_removes_its_data(
    hub: RunningOneHub, api: httpx.AsyncClient
) -> None:
    command = ("--server", hub.grpc_target, "loadgen", "--rate", "50", "--duration", "60")
    scope = ("--users", "2", "--topics", "2", "--cleanup")
    async with onehub_process(*command, *scope) as process:
        assert process.stderr is not None
        async with asyncio.timeout(RUN_TIMEOUT_S):
            # Running, with messages sent: its first progress line is out.
            first = await process.stderr.readline()
            assert PROGRESS.match(first.decode().rstrip("\n")), first
            process.send_signal(signal.SIGINT)
            rest, _ = await asyncio.gather(process.stderr.read(), process.wait())

    err = rest.decode()
    assert process.returncode == 130, err
    assert "cleanup: deleted 2 topics (with their messages) and 2 users" in err
    assert "interrupted" in err
    assert "Traceback" not in err
    assert (await api.get("/v1/users")).json()["users"] == []
    assert (await api.get("/v1/topics")).json()["topics"] == []
    messages = await api.get("/v1/messages", params={"pagination.page_size": 1})
    assert messages.json()["pagination"]["totalNumResults"] == 0
