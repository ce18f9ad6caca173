"""Cost against data size: one topic holding 1k, 100k and 1M messages, read through the gateway.

For each size the server starts on an empty database (it migrates it), then the messages are
loaded with one raw SQL statement (a recursive CTE on SQLite, generate_series on PostgreSQL) so
that they pass through the schema's triggers and indexes exactly as the store's inserts do, but
without the API's per-request cost. Every hundredth message holds the word "rare" (a 1% search);
every message holds "hello" (a search where everything matches); only the oldest holds "oldest"
(a search for one message, which must not read all the others to find it).

Measured one request at a time (a page's latency, not throughput), median of `SAMPLES` after a
warm-up: the first page of the topic, a page from its middle (its signed page key made from the
database's page-key secret, as the server would make it), and the two searches. The ratio column
divides the largest size's median by the smallest's, in the same run.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import asyncpg

from benchmarks.clients import PASSWORD, USER
from benchmarks.runs import RunSettings
from benchmarks.servers import (
    POSTGRES_URL,
    BenchSetupError,
    onehub_server,
    scratch_directory,
    untraced_env,
)
from benchmarks.service_bench import Backend, database
from benchmarks.stats import median, ratio, render_table
from onehub.domain.models import Page
from onehub.services.paging import PageKeys
from onehub.storage.keyset import topic_messages_order

SIZES = (1000, 100_000, 1_000_000)
QUICK_SIZES = (1000, 10_000)
SAMPLES = 21
QUICK_SAMPLES = 5
WARMUP = 3
PAGE_SIZE = 100
TOPIC = "scale"
SCENARIOS = ("list page 1", "list middle page", "search 1%", "search all", "search one")
GOAL_RATIO = 1.5
_BASE = datetime(2026, 1, 1, tzinfo=UTC)
_AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


@dataclass(frozen=True, slots=True)
class ScaleRow:
    backend: Backend
    messages: int
    load_s: float
    p50_ms: dict[str, float]
    failures: int


def run_scale_benchmark(
    backend: Backend, settings: RunSettings, sizes: Sequence[int] = SIZES, samples: int = SAMPLES
) -> list[ScaleRow]:
    """Load and measure every size on a fresh `backend` database; raise BenchSetupError when
    the database or the server cannot be started."""
    env = untraced_env()
    rows = []
    for size in sizes:
        with (
            scratch_directory() as workdir,
            database(backend, workdir) as url,
            onehub_server(url, workdir, env=env, command=settings.server_command) as server,
        ):
            setup = _connection(server.gateway)
            status, text = _request(setup, "POST", "/api/v1/topics", _topic_body())
            setup.close()
            if status != 200:
                raise BenchSetupError(f"could not create the topic: {status} {text[:200]}")
            started = time.monotonic()
            if backend == "sqlite":
                secret = _load_sqlite(url.removeprefix("sqlite:///"), size)
            else:
                secret = asyncio.run(_load_postgres(url, size))
            load_s = time.monotonic() - started
            # Connected after the load: an idle keep-alive connection would have been closed.
            connection = _connection(server.gateway)
            middle = _middle_key(secret, size)
            paths = {
                "list page 1": _list_path(""),
                "list middle page": _list_path(middle),
                "search 1%": _search_path("rare"),
                "search all": _search_path("hello"),
                "search one": _search_path("oldest"),
            }
            expected = dict.fromkeys(SCENARIOS, PAGE_SIZE)
            expected["search 1%"] = min(PAGE_SIZE, (size + 99) // 100)
            expected["search one"] = 1
            failures = 0
            p50: dict[str, float] = {}
            for scenario in SCENARIOS:
                times, failed = _sample(connection, paths[scenario], samples, expected[scenario])
                failures += failed
                p50[scenario] = median(times)
            connection.close()
            rows.append(ScaleRow(backend, size, load_s, p50, failures))
    return rows


def _topic_body() -> bytes:
    return json.dumps({"topic": {"base": {"id": TOPIC}, "name": "scale"}}).encode()


def _list_path(page_key: str) -> str:
    query = {"pagination.page_size": PAGE_SIZE, "pagination.page_key": page_key}
    return f"/api/v1/topics/{TOPIC}/messages?{urlencode(query)}"


def _search_path(phrase: str) -> str:
    query = {"search_phrase": phrase, "pagination.page_size": PAGE_SIZE}
    return f"/api/v1/messages?{urlencode(query)}"


def _created(index: int) -> datetime:
    return _BASE + timedelta(milliseconds=index)


def _middle_key(secret: bytes, size: int) -> str:
    """The signed page key that resumes the topic's list after its middle message."""
    index = size // 2
    cursor = topic_messages_order(TOPIC).encode((_created(index), _message_id(index)))
    sealed: Page[object] = PageKeys(secret).seal(Page([], next_page_key=cursor, has_more=True))
    return sealed.next_page_key


def _message_id(index: int) -> str:
    return f"m{index:08d}"


# Message i: id m00000042, created at _BASE + i ms, "rare" in every hundredth, "oldest" in i = 0.
_SQLITE_LOAD = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :size)
INSERT INTO messages (id, topic_id, creator_id, content_type, content_text, content_data,
                      parent_message_id, created_at, updated_at, version)
SELECT printf('m%08d', i), :topic, 'admin', 'text/plain',
       'hello world message ' || i || CASE WHEN i % 100 = 0 THEN ' rare' ELSE '' END
       || CASE WHEN i = 0 THEN ' oldest' ELSE '' END, NULL, '',
       t, t, 1
FROM (SELECT i, strftime('%Y-%m-%d %H:%M:%S', '2026-01-01', '+' || (i / 1000) || ' seconds')
                || printf('.%06d', (i % 1000) * 1000) AS t FROM n)
"""

_POSTGRES_LOAD = """
INSERT INTO messages (id, topic_id, creator_id, content_type, content_text, content_data,
                      parent_message_id, created_at, updated_at, version)
SELECT 'm' || lpad(i::text, 8, '0'), $2, 'admin', 'text/plain',
       'hello world message ' || i || CASE WHEN i % 100 = 0 THEN ' rare' ELSE '' END
       || CASE WHEN i = 0 THEN ' oldest' ELSE '' END, NULL, '',
       t, t, 1
FROM (SELECT i, timestamptz '2026-01-01 00:00:00+00' + i * interval '1 millisecond' AS t
      FROM generate_series(0, $1 - 1) AS i) AS generated
"""


def _load_sqlite(path: str, size: int) -> bytes:
    connection = sqlite3.connect(path, timeout=30)
    try:
        with connection:
            connection.execute(_SQLITE_LOAD, {"size": size, "topic": TOPIC})
        # Settled as a database that grew over time would be: the load's log written back.
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (secret,) = connection.execute(
            "SELECT value FROM server_secrets WHERE name = 'page_key'"
        ).fetchone()
        return bytes(secret)
    finally:
        connection.close()


async def _load_postgres(url: str, size: int) -> bytes:
    schema = url.rpartition("search_path%3D")[2]
    connection = await asyncpg.connect(POSTGRES_URL, timeout=10)
    try:
        await connection.execute(f'SET search_path TO "{schema}"')
        await connection.execute(_POSTGRES_LOAD, size, TOPIC)
        # Settled as autovacuum leaves a table that grew over time: statistics gathered, the
        # visibility map set, and the search index's pending list (up to 4 MB of entries that
        # every search scans one by one until a vacuum or autoanalyze merges them) merged.
        await connection.execute("VACUUM (ANALYZE) messages")
        secret = await connection.fetchval(
            "SELECT value FROM server_secrets WHERE name = 'page_key'"
        )
        return bytes(secret)
    finally:
        await connection.close()


def _connection(gateway: str) -> http.client.HTTPConnection:
    host, port = gateway.rsplit(":", 1)
    return http.client.HTTPConnection(host, int(port), timeout=120)


def _request(
    connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None
) -> tuple[int, str]:
    headers = {"Authorization": _AUTH, "Content-Type": "application/json"}
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.read().decode(errors="replace")


def _sample(
    connection: http.client.HTTPConnection, path: str, samples: int, expected: int
) -> tuple[list[float], int]:
    """Time `samples` GETs of `path` after a warm-up; a call fails unless it is a 200 with
    `expected` messages."""
    times: list[float] = []
    failures = 0
    for index in range(WARMUP + samples):
        started = time.perf_counter()
        status, text = _request(connection, "GET", path)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if status != 200 or len(json.loads(text).get("messages", [])) != expected:
            failures += 1
        elif index >= WARMUP:
            times.append(elapsed_ms)
    return times, failures


def scale_report(rows: Sequence[ScaleRow]) -> str:
    """One line per backend and size (p50 ms per scenario), then the largest/smallest ratio."""
    table = []
    for backend in dict.fromkeys(row.backend for row in rows):
        mine = sorted((row for row in rows if row.backend == backend), key=lambda r: r.messages)
        for row in mine:
            cells = [f"{row.p50_ms[s]:.1f}" for s in SCENARIOS]
            table.append([backend, f"{row.messages:,}", f"{row.load_s:.0f}", *cells])
        if len(mine) > 1:
            small, large = mine[0], mine[-1]
            ratios = [f"{ratio(large.p50_ms[s], small.p50_ms[s]):.2f}x" for s in SCENARIOS]
            label = f"{large.messages // 1000:,}k/{small.messages // 1000:,}k"
            table.append([backend, label, "", *ratios])
    headers = ["backend", "messages", "load s", *(f"{s} p50 ms" for s in SCENARIOS)]
    note = (
        f"one topic, page size {PAGE_SIZE}, one request at a time through the gateway; "
        f"goal: every ratio within {GOAL_RATIO}x"
    )
    return note + "\n" + render_table(headers, table, text_columns=2)
