"""Bulk import over REST, as a bulk loader does it: `POST /api/v1/messages:import`
with batches of thousands of messages (snake_case, `created_at`, about 450 bytes each), one
request at a time, on SQLite and PostgreSQL.

Each repetition sends one batch of each size; sizes interleave so that noise from other work on
the machine falls on all of them. The baseline is the largest batch the server took before bulk
import was opened up (1,000 messages): the ratio says what the larger batches gain. The server runs
with `OTEL_SDK_DISABLED=true`, as in the transport benchmark.
"""

from __future__ import annotations

import base64
import functools
import http.client
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from benchmarks.clients import PASSWORD, USER
from benchmarks.runs import RunSettings
from benchmarks.servers import (
    BenchSetupError,
    onehub_server,
    process_cpu_seconds,
    scratch_directory,
    untraced_env,
)
from benchmarks.service_bench import Backend, database
from benchmarks.stats import median, ratio, render_table

BATCH_SIZES = (1000, 5000, 10_000)
BASELINE_BATCH = 1000
TOPICS = 20
USERS = 100
SQLITE_GOAL_MESSAGES_PER_S = 20_000
_IMPORT_PATH = "/api/v1/messages:import"
_AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


@dataclass(frozen=True, slots=True)
class ImportRow:
    backend: Backend
    batch: int
    body_bytes: int
    messages_per_s: float  # median over repetitions
    batch_ms: float  # median wall time of one request
    server_cpu_us_per_message: float  # median
    failures: int
    first_failure: str | None


def run_import_benchmark(backend: Backend, settings: RunSettings) -> list[ImportRow]:
    """Import batches of every size on a fresh `backend` database, `settings.repetitions` times
    (at least 3). Raise BenchSetupError when the database or the server cannot be started."""
    env = untraced_env()
    repetitions = max(settings.repetitions, 3)
    rng = random.Random(20_000)
    with (
        scratch_directory() as workdir,
        database(backend, workdir) as url,
        onehub_server(url, workdir, env=env, command=settings.server_command) as server,
    ):
        host, port = server.gateway.rsplit(":", 1)
        # A connection per request: building the next batch can outlast the server's
        # keep-alive timeout, and a connect is nothing beside a request of megabytes.
        connect = functools.partial(http.client.HTTPConnection, host, int(port), timeout=120)
        for index in range(TOPICS):
            topic = {"topic": {"base": {"id": f"lt{index}"}, "name": f"load test {index}"}}
            status, text = _post(connect(), "/api/v1/topics", json.dumps(topic).encode())
            if status != 200:
                raise BenchSetupError(f"could not create a topic: {status} {text[:200]}")
        samples: dict[int, list[tuple[float, float]]] = {size: [] for size in BATCH_SIZES}
        failures: dict[int, list[str]] = {size: [] for size in BATCH_SIZES}
        bodies: dict[int, int] = {}
        for repetition in range(repetitions + 1):  # the first round warms up
            for size in BATCH_SIZES:
                body = _batch_body(size, rng, repetition)
                bodies[size] = len(body)
                cpu_before = process_cpu_seconds(server.pid)
                started = time.perf_counter()
                status, text = _post(connect(), _IMPORT_PATH, body)
                wall = time.perf_counter() - started
                cpu = process_cpu_seconds(server.pid) - cpu_before
                if status != 200:
                    failures[size].append(f"{status} {text[:200]}")
                elif repetition:
                    samples[size].append((wall, cpu))
    return [
        ImportRow(
            backend=backend,
            batch=size,
            body_bytes=bodies[size],
            messages_per_s=median([size / wall for wall, _ in samples[size]]),
            batch_ms=median([wall * 1000 for wall, _ in samples[size]]),
            server_cpu_us_per_message=median([cpu * 1e6 / size for _, cpu in samples[size]]),
            failures=len(failures[size]),
            first_failure=failures[size][0] if failures[size] else None,
        )
        for size in BATCH_SIZES
    ]


def _batch_body(size: int, rng: random.Random, repetition: int) -> bytes:
    """One batch shaped as the load script's `create_random_messages` makes them."""
    start = datetime(2024, 3, 1, tzinfo=UTC) + timedelta(days=repetition)
    messages = []
    for index in range(size):
        stamp = (start + timedelta(seconds=index * rng.random() * 300)).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ"
        )
        messages.append(
            {
                "topic_id": f"lt{rng.randrange(TOPICS)}",
                "base": {
                    "creator_id": f"ltuser{rng.randrange(USERS)}",
                    "created_at": stamp,
                    "updated_at": stamp,
                },
                "content_base": {
                    "content_type": "text/plain",
                    "content_text": " ".join(
                        rng.choice(_WORDS) for _ in range(rng.randint(40, 90))
                    ),
                },
            }
        )
    return json.dumps({"messages": messages}).encode()


def _post(connection: http.client.HTTPConnection, path: str, body: bytes) -> tuple[int, str]:
    connection.request(
        "POST",
        path,
        body=body,
        headers={"Content-Type": "application/json", "Authorization": _AUTH},
    )
    try:
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    return response.status, payload.decode(errors="replace") if response.status != 200 else ""


def import_report(rows: Sequence[ImportRow]) -> str:
    """The table of medians, then the ratios against the 1,000-message batch and the goal."""
    headers = [
        "backend",
        "batch",
        "body MB",
        "msg/s",
        "ms/batch",
        "server CPU us/msg",
        f"vs {BASELINE_BATCH}",
        "failed",
    ]
    baseline = {row.backend: row for row in rows if row.batch == BASELINE_BATCH}
    table = [
        [
            row.backend,
            f"{row.batch}",
            f"{row.body_bytes / 1e6:.1f}",
            f"{row.messages_per_s:.0f}",
            f"{row.batch_ms:.0f}",
            f"{row.server_cpu_us_per_message:.1f}",
            f"{ratio(row.messages_per_s, baseline[row.backend].messages_per_s):.2f}x"
            if row.backend in baseline
            else "-",
            str(row.failures),
        ]
        for row in rows
    ]
    lines = [render_table(headers, table, text_columns=1), ""]
    for row in rows:
        if row.backend == "sqlite" and row.batch == 5000:
            verdict = "met" if row.messages_per_s >= SQLITE_GOAL_MESSAGES_PER_S else "NOT met"
            lines.append(
                f"import on sqlite, batches of 5000: {row.messages_per_s:.0f} msg/s "
                f"(goal >= {SQLITE_GOAL_MESSAGES_PER_S}: {verdict}); the server's CPU allows "
                f"{1e6 / row.server_cpu_us_per_message:.0f} msg/s on one core"
                if row.server_cpu_us_per_message
                else "import on sqlite: nothing measured"
            )
    for row in rows:
        if row.failures:
            lines.append(
                f"FAILED imports on {row.backend}, batches of {row.batch}: {row.failures}, "
                f"first: {row.first_failure}"
            )
    return "\n".join(lines)


_WORDS = (
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "did",
    "you",
    "see",
    "game",
    "last",
    "night",
    "what",
    "about",
    "weekend",
    "plans",
    "maybe",
    "we",
    "should",
    "try",
    "that",
    "new",
    "place",
    "downtown",
    "sounds",
    "great",
    "let",
    "me",
    "know",
)
