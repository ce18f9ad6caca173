"""Standard logging: OTel log records with trace ids, a readable console line, no secrets."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest
from opentelemetry import trace
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.trace import ReadableSpan

from onehub.gen.onehub.v1 import users_pb2
from onehub.telemetry import configure_logging
from onehub.telemetry.testing import InMemoryTelemetry

from .support import UserServer


@dataclass
class Logged:
    memory: InMemoryTelemetry
    console: io.StringIO

    def spans(self) -> Sequence[ReadableSpan]:
        return self.memory.spans()

    def logs(self) -> Sequence[ReadableLogRecord]:
        return self.memory.logs()


@pytest.fixture
def logged(memory: InMemoryTelemetry) -> Iterator[Logged]:
    """Our handlers on the root logger, the console one writing to a buffer."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    console = io.StringIO()
    configure_logging(memory.telemetry, "info", stream=console)
    yield Logged(memory, console)
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


async def test_logs_carry_the_trace_and_span_of_the_request(
    user_server: UserServer, logged: Logged
) -> None:
    await user_server.stub.GetUser(users_pb2.GetUserRequest(id="u7"))

    [handler_span] = [span for span in logged.spans() if span.name == "GetUser"]
    [record] = [log.log_record for log in logged.logs() if log.log_record.body == "found user u7"]
    assert record.trace_id == handler_span.context.trace_id
    assert record.span_id == handler_span.context.span_id
    assert record.severity_text == "INFO"
    trace_id = f"{handler_span.context.trace_id:032x}"
    line = logged.console.getvalue().strip()
    assert re.fullmatch(
        rf"\d\d:\d\d:\d\d INFO onehub\.tests\.users trace={trace_id} found user u7", line
    )


def test_outside_a_span_the_console_line_has_no_trace(logged: Logged) -> None:
    logging.getLogger("onehub.app").warning("listening on %s", "127.0.0.1:9000")

    line = logged.console.getvalue().strip()
    assert re.fullmatch(r"\d\d:\d\d:\d\d WARNING onehub\.app listening on 127\.0\.0\.1:9000", line)


def test_credentials_never_reach_console_or_otlp(logged: Logged) -> None:
    log = logging.getLogger("onehub.storage")
    with trace.get_tracer("t").start_as_current_span("connect"):
        log.info("connecting to %s", "postgresql://onehub:s3cret@db:5432/onehub")
        log.info("login password=hunter2 user=ada")
        log.info("header Authorization: Basic YWRhOmFkYTEyMw==")

    console = logged.console.getvalue()
    exported = " ".join(str(log.log_record.body) for log in logged.logs())
    for text in (console, exported):
        assert "postgresql://onehub:***@db:5432/onehub" in text
        for secret in ("s3cret", "hunter2", "YWRhOmFkYTEyMw"):
            assert secret not in text


def test_sdk_export_complaints_stay_out_of_otlp(logged: Logged) -> None:
    logging.getLogger("opentelemetry.exporter.otlp.proto.grpc.exporter").error(
        "Failed to export traces to %s", "127.0.0.1:1"
    )

    assert list(logged.logs()) == []


def test_an_unknown_level_is_refused(memory: InMemoryTelemetry) -> None:
    with pytest.raises(ValueError, match="log level 'LOUD'"):
        configure_logging(memory.telemetry, "LOUD")
