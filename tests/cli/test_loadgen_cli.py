"""`onehub loadgen` against a real server, over gRPC and through the REST gateway."""

from __future__ import annotations

import json
import time

import pytest

from onehub.cli.main import main
from onehub.domain.models import PageRequest, Principal

from .conftest import Cli, RunningServer


def _check_report(report: dict[str, object], ops: int) -> None:
    overall = report["overall"]
    assert isinstance(overall, dict)
    assert overall["ok"] == ops
    assert overall["failed"] == 0
    assert overall["throughputPerS"] > 0
    latency = overall["latencyMs"]
    assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
    assert report["stoppedBy"] == "count"


def test_a_small_grpc_run_creates_what_it_reports(cli: Cli, server: RunningServer) -> None:
    began = time.perf_counter()
    result = cli(
        "loadgen", "--count", "25", "--rate", "0", "--users", "2", "--topics", "2", "--json"
    )

    assert result.status == 0, result.err
    assert time.perf_counter() - began < 30
    report = json.loads(result.out)
    _check_report(report, 25)
    assert [op["operation"] for op in report["operations"]] == [
        "create_user",
        "create_topic",
        "create_message",
    ]
    assert [op["ok"] for op in report["operations"]] == [2, 2, 21]

    # What the report counts is really on the server, with the senders it chose.
    admin = Principal("admin")
    users = server.run(server.services.users.list_users(admin, PageRequest(page_size=100)))
    run_id = report["runId"]
    assert [u.id for u in users.items] == [f"loadgen-{run_id}-user-0", f"loadgen-{run_id}-user-1"]
    topic = f"loadgen-{run_id}-topic-0"
    messages = server.run(
        server.services.messages.list_messages(admin, topic, PageRequest(page_size=100))
    )
    assert len(messages.items) == 11  # messages 0, 1, 4, 5, ..., 16, 17, 20 go to topic 0
    assert {m.creator_id for m in messages.items} == {
        f"loadgen-{run_id}-user-0",
        f"loadgen-{run_id}-user-1",
    }


def test_the_table_report_has_a_row_per_operation(cli: Cli) -> None:
    result = cli("loadgen", "--count", "12", "--rate", "200", "--users", "1", "--topics", "1")

    assert result.status == 0, result.err
    lines = result.out.splitlines()
    assert "stopped by count" in lines[0]
    assert lines[1].split() == [
        "OPERATION", "OK", "FAILED", "OPS/S", "P50", "MS", "P90", "MS", "P99", "MS", "MAX", "MS",
    ]  # fmt: skip
    assert [line.split()[:3] for line in lines[2:]] == [
        ["create_user", "1", "0"],
        ["create_topic", "1", "0"],
        ["create_message", "10", "0"],
        ["all", "12", "0"],
    ]


def test_a_duration_run_stops_by_itself(cli: Cli) -> None:
    began = time.perf_counter()
    result = cli("loadgen", "--duration", "0.5", "--rate", "40", "--json")

    assert result.status == 0, result.err
    assert time.perf_counter() - began < 5
    report = json.loads(result.out)
    assert report["stoppedBy"] == "duration"
    assert 10 <= report["overall"]["ok"] <= 20


def test_a_rest_run_through_the_gateway(
    capsys: pytest.CaptureFixture[str], server_with_gateway: RunningServer
) -> None:
    status = main(
        [
            "loadgen", "--via", "rest", "--gateway", server_with_gateway.gateway_url,
            "--count", "15", "--rate", "0", "--users", "2", "--topics", "1", "--json",
        ]
    )  # fmt: skip

    captured = capsys.readouterr()
    assert status == 0, captured.err
    report = json.loads(captured.out)
    assert report["via"] == "rest"
    _check_report(report, 15)


def test_wrong_credentials_stop_the_run_with_one_line(cli: Cli) -> None:
    result = cli("--password", "not-it-at-all", "loadgen", "--count", "10")

    assert result.status == 1
    assert result.out == ""
    assert result.err.startswith("error: create_user failed: UNAUTHENTICATED: ")
    assert "not-it-at-all" not in result.err


def test_a_non_admin_cannot_seed_users(cli: Cli) -> None:
    result = cli("--user", "bob", "--password", "bob123", "loadgen", "--count", "10")

    assert result.status == 1
    assert result.err.startswith("error: create_user failed: PERMISSION_DENIED: ")


@pytest.mark.parametrize(
    "target_flags",
    [
        ["--server", "10.1.2.3:9000"],
        ["--server", "example.com:9000"],
        ["--via", "rest", "--gateway", "http://192.168.0.10:9080"],
    ],
)
def test_remote_targets_are_refused_before_any_traffic(
    capsys: pytest.CaptureFixture[str], target_flags: list[str]
) -> None:
    status = main(["loadgen", *target_flags, "--count", "10"])

    assert status == 2
    err = capsys.readouterr().err
    assert "refusing to send load" in err
    assert "--allow-remote" in err


def test_bad_plans_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["loadgen", "--count", "3"]) == 2
    assert "--count must exceed" in capsys.readouterr().err
    assert main(["loadgen", "--concurrency", "0"]) == 2
    assert "--concurrency" in capsys.readouterr().err
