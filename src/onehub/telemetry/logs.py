"""Standard logging, bridged to OpenTelemetry logs and printed readably with the trace id.

`configure_logging` installs two handlers on the root logger (replacing any it installed before):
a console handler whose lines look like
`12:00:01 INFO onehub.services trace=4bf92f3577b34da6a3ce929d0e0e4736 created topic t1`,
and a bridge that emits every record as an OpenTelemetry log record carrying the active span's
trace and span ids (exported over OTLP by the Telemetry's logger provider).

Credentials never reach either: a filter masks URL passwords, `Authorization` values and
`password=` pairs in every message before any handler formats it. The SDK's own export
complaints are rate-limited on the console and never fed back into OTLP (a dead collector would
otherwise produce a log record per failed export, to be exported to the same dead collector).
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import TYPE_CHECKING, Final, TextIO

from opentelemetry import trace
from opentelemetry._logs import LoggerProvider
from opentelemetry.instrumentation.logging.handler import LoggingHandler

if TYPE_CHECKING:
    from onehub.telemetry.setup import Telemetry

#: Records from these loggers stay out of OTLP and are rate-limited on the console.
_SDK_LOGGER_PREFIX: Final = "opentelemetry"
_SDK_REPEAT_INTERVAL_S: Final = 30.0
_MARK: Final = "_onehub_telemetry_handler"

_SECRETS: Final = (
    # scheme://user:password@host -> scheme://user:***@host
    (re.compile(r"(\w+://[^/\s:@]+:)[^@\s/]+@"), r"\1***@"),
    # Authorization: Basic abc / authorization=Bearer abc
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(\w+\s+)?[^\s'\",;]+"), r"\1\2***"),
    (re.compile(r"(?i)(password['\"]?\s*[:=]\s*['\"]?)[^\s'\",;&]+"), r"\1***"),
)


def configure_logging(telemetry: Telemetry, level: str, *, stream: TextIO | None = None) -> None:
    """Send standard logging at `level` and above to the console (`stream`, default stderr) and
    to the Telemetry's logs.

    Idempotent per process: a second call replaces the handlers of the first. Raise ValueError
    for a level name logging does not know.
    """
    numeric = logging.getLevelName(level.strip().upper())
    if not isinstance(numeric, int):
        raise ValueError(f"log level {level!r} is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)
    console = logging.StreamHandler(stream if stream is not None else sys.stderr)
    console.setFormatter(ConsoleFormatter())
    console.addFilter(RedactSecrets())
    console.addFilter(_RateLimitSdkNoise())
    handlers: list[logging.Handler] = [console]
    if telemetry.logger_provider is not None:
        bridge = OtelLogHandler(telemetry.logger_provider)
        bridge.addFilter(RedactSecrets())
        handlers.append(bridge)
    for handler in handlers:
        setattr(handler, _MARK, True)
        root.addHandler(handler)
    root.setLevel(numeric)


class ConsoleFormatter(logging.Formatter):
    """`HH:MM:SS LEVEL logger trace=<id> message`; `trace=` is left out outside any span."""

    def __init__(self) -> None:
        super().__init__(datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        context = trace.get_current_span().get_span_context()
        trace_part = f" trace={context.trace_id:032x}" if context.is_valid else ""
        line = (
            f"{self.formatTime(record, self.datefmt)} {record.levelname} {record.name}"
            f"{trace_part} {record.getMessage()}"
        )
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


class RedactSecrets(logging.Filter):
    """Mask passwords and authorization values in the message (the record is rewritten once,
    so every handler after this filter sees the masked text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = message
        for pattern, replacement in _SECRETS:
            masked = pattern.sub(replacement, masked)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class _RateLimitSdkNoise(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._last: dict[tuple[str, object], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(_SDK_LOGGER_PREFIX):
            return True
        key = (record.name, record.msg)
        now = time.monotonic()
        if now - self._last.get(key, float("-inf")) < _SDK_REPEAT_INTERVAL_S:
            return False
        self._last[key] = now
        return True


class OtelLogHandler(LoggingHandler):
    """The logging instrumentation's bridge (a standard record becomes an OpenTelemetry log
    record in the current span's context, with its code location), except for the SDK's own
    records, which stay out of OTLP."""

    def __init__(self, provider: LoggerProvider) -> None:
        super().__init__(logger_provider=provider, log_code_attributes=True)

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(_SDK_LOGGER_PREFIX):
            return
        super().emit(record)
