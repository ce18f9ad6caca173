"""The bulk-import benchmark's request shape and its report (the runs themselves need servers:
`python -m benchmarks --only import`)."""

from __future__ import annotations

import json
import random

from benchmarks.import_bench import ImportRow, _batch_body, import_report


def test_batches_are_shaped_as_the_original_load_script_sends_them() -> None:
    body = _batch_body(5000, random.Random(1), 0)
    messages = json.loads(body)["messages"]

    assert len(messages) == 5000
    assert 2_000_000 < len(body) < 3_200_000  # "2-2.5 MB" per batch of 5,000 and a bit
    first = messages[0]
    assert set(first) == {"topic_id", "base", "content_base"}
    assert set(first["base"]) == {"creator_id", "created_at", "updated_at"}
    assert first["base"]["created_at"].endswith("Z")
    assert first["content_base"]["content_type"] == "text/plain"


def _row(backend: str, batch: int, rate: float, failures: int = 0) -> ImportRow:
    return ImportRow(
        backend=backend,  # type: ignore[arg-type]
        batch=batch,
        body_bytes=batch * 560,
        messages_per_s=rate,
        batch_ms=batch / rate * 1000,
        server_cpu_us_per_message=50.0,
        failures=failures,
        first_failure="413 too large" if failures else None,
    )


def test_report_prints_ratios_against_1000_the_goal_and_failures() -> None:
    rows = [
        _row("sqlite", 1000, 1000.0),
        _row("sqlite", 5000, 2500.0),
        _row("postgres", 1000, 2000.0),
        _row("postgres", 5000, 1000.0, failures=2),
    ]
    report = import_report(rows)
    lines = report.splitlines()

    assert lines[0].split() == [
        "backend", "batch", "body", "MB", "msg/s", "ms/batch", "server", "CPU", "us/msg",
        "vs", "1000", "failed",
    ]  # fmt: skip
    sqlite_5000 = next(line for line in lines if line.startswith("sqlite") and " 5000 " in line)
    assert sqlite_5000.split()[-2:] == ["2.50x", "0"]
    assert "import on sqlite, batches of 5000: 2500 msg/s (goal >= 20000: NOT met)" in report
    assert "20000 msg/s on one core" in report
    assert "FAILED imports on postgres, batches of 5000: 2, first: 413 too large" in report
