"""Faults to find: their values as a person writes them, and the switchboard that strikes."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from onehub.config import ConfigError, parse_serve_args
from onehub.domain.errors import InvalidArgument, Unavailable
from onehub.domain.faults import Fault, parse_fault
from onehub.services.faults import FaultSwitchboard


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("db-latency", Fault("db-latency", "1200ms@0.3", delay=1.2, share=0.3)),
        ("db-latency=200ms@0.3", Fault("db-latency", "200ms@0.3", delay=0.2, share=0.3)),
        ("db-latency=1.5s", Fault("db-latency", "1500ms", delay=1.5)),
        ("rpc-errors=GetTopic@0.5", Fault("rpc-errors", "GetTopic@0.5", share=0.5, rpc="GetTopic")),
        ("rpc-errors", Fault("rpc-errors", "GetTopic@0.5", share=0.5, rpc="GetTopic")),
        (" n-plus-one ", Fault("n-plus-one")),
        ("slow-downstream=", Fault("slow-downstream", "1200ms", delay=1.2)),
    ],
)
def test_a_fault_as_written_and_its_defaults(text: str, expected: Fault) -> None:
    assert parse_fault(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("disk-full", "unknown fault 'disk-full'"),
        ("db-latency=200", "fault db-latency: '200' is not a duration such as 200ms or 1.5s"),
        ("db-latency=0ms", "fault db-latency: '0ms' must be above 0 and at most 60s"),
        ("db-latency=61s", "fault db-latency: '61s' must be above 0 and at most 60s"),
        ("db-latency=5ms@0", "fault db-latency: share '0' must be a fraction in (0, 1]"),
        ("db-latency=5ms@1.5", "fault db-latency: share '1.5' must be a fraction in (0, 1]"),
        ("rpc-errors=getTopic", "fault rpc-errors: 'getTopic' is not an RPC name"),
        ("n-plus-one=3", "fault n-plus-one takes no value, not '3'"),
    ],
)
def test_a_bad_fault_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_fault(text)
    assert raised.value.message.startswith(message)


class _Dice:
    """Chances to return, in order: a real switchboard with the dice loaded."""

    def __init__(self, *rolls: float) -> None:
        self._rolls = list(rolls)

    def __call__(self) -> float:
        return self._rolls.pop(0)


def test_a_share_strikes_only_below_it_and_names_the_fault_on_the_span() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    board = FaultSwitchboard([parse_fault("db-latency=200ms@0.3")], chance=_Dice(0.29, 0.3, 0.9))

    with tracer.start_as_current_span("struck"):
        first = board.db_delay()
    with tracer.start_as_current_span("spared"):
        second, third = board.db_delay(), board.db_delay()

    assert (first, second, third) == (0.2, 0.0, 0.0)
    struck, spared = exporter.get_finished_spans()
    [event] = struck.events
    assert event.name == "fault.injected"
    assert dict(event.attributes or {}) == {"fault.name": "db-latency", "fault.value": "200ms@0.3"}
    assert (struck.attributes or {})["fault.name"] == "db-latency"
    assert spared.events == ()
    assert "fault.name" not in (spared.attributes or {})


def test_rpc_errors_strike_only_their_rpc() -> None:
    board = FaultSwitchboard([parse_fault("rpc-errors=GetTopic")], known_rpcs={"GetTopic"})

    board.check_rpc("ListTopics")
    with pytest.raises(Unavailable, match="GetTopic is unavailable"):
        board.check_rpc("GetTopic")


def test_replace_is_all_or_nothing() -> None:
    board = FaultSwitchboard([parse_fault("n-plus-one")], known_rpcs={"GetTopic", "ListTopics"})

    with pytest.raises(InvalidArgument, match="no RPC 'GetUser'"):
        board.replace([parse_fault("db-latency"), parse_fault("rpc-errors=GetUser")])

    assert list(board.active()) == ["n-plus-one"]
    board.replace([])
    assert board.active() == {}


def test_slow_downstream_needs_a_downstream() -> None:
    with pytest.raises(InvalidArgument, match="no downstream"):
        FaultSwitchboard([parse_fault("slow-downstream")])


def test_serve_settings_take_faults_from_flags_else_the_twin() -> None:
    env = {"ONEHUB_FAULT": "n-plus-one,db-latency=10ms"}

    from_env = parse_serve_args([], env)
    from_flags = parse_serve_args(["--fault", "rpc-errors=GetTopic", "--fault", "n-plus-one"], env)
    none = parse_serve_args([], {})

    assert [f.text for f in from_env.faults] == ["n-plus-one", "db-latency=10ms"]
    assert [f.text for f in from_flags.faults] == ["rpc-errors=GetTopic", "n-plus-one"]
    assert none.faults == ()


def test_faults_on_a_public_address_need_force() -> None:
    public = ["--auth", "password", "--gw-addr", "0.0.0.0:9080", "--fault", "n-plus-one"]

    with pytest.raises(ConfigError, match="--force-faults"):
        parse_serve_args(public, {})
    forced = parse_serve_args([*public, "--force-faults"], {})

    assert forced.faults_allowed
    assert not parse_serve_args(public[:4], {}).faults_allowed
