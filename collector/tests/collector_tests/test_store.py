"""The trace store on disk: it survives restarts, drops retried duplicates, and keeps to its
retention by age and by size, oldest first."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx

from collector_tests.conftest import loopback_config, now_us
from collector_tests.otlp_builders import SpanSpec, new_trace_id, traces_request
from onehub_collector import start_collector
from onehub_collector.store.reader import StoreReader, TraceQuery
from onehub_collector.store.retention import Retention, apply_retention, used_bytes
from onehub_collector.store.writer import StoreWriter, WriteBatch


def _trace(service: str, spans: int = 3, pad: int = 0) -> tuple[bytes, list[SpanSpec]]:
    trace_id, start = new_trace_id(), now_us() - 1_000_000
    root = SpanSpec(service, "root", start, 100, trace_id, attributes={"pad": "x" * pad})
    rest = [
        SpanSpec(
            service,
            f"step {i}",
            start + i,
            10,
            trace_id,
            parent_id=root.span_id,
            attributes={"pad": "x" * pad},
        )
        for i in range(spans - 1)
    ]
    return trace_id, [root, *rest]


async def test_traces_survive_a_restart(tmp_path: Path) -> None:
    trace_id, spans = _trace("durable")
    first = await start_collector(loopback_config(tmp_path))
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"http://127.0.0.1:{first.otlp_http_port}/v1/traces",
            content=traces_request(spans).SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
        )
        assert response.status_code == 200
    await first.stop()  # no flush: stopping must write what was accepted

    second = await start_collector(loopback_config(tmp_path))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{second.ui_port}") as api:
            assert (await api.get("/jaeger/api/services")).json()["data"] == ["durable"]
            trace = (await api.get(f"/jaeger/api/traces/{trace_id.hex()}")).json()["data"][0]
            assert len(trace["spans"]) == 3
    finally:
        await second.stop()


def _write(writer: StoreWriter, spans: list[SpanSpec]) -> None:
    writer.submit(WriteBatch(traces=[traces_request(spans)]))
    assert writer.flush()


def test_retried_spans_are_stored_once(tmp_path: Path) -> None:
    writer = StoreWriter(tmp_path / "t.db", Retention(None, None))
    writer.start()
    trace_id, spans = _trace("retry")
    _write(writer, spans)
    _write(writer, spans)  # an exporter retry resends the same spans
    writer.stop()
    # Stopping checkpoints the write-ahead log into the database file and empties it.
    wal = tmp_path / "t.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    reader = StoreReader(tmp_path / "t.db")
    assert len(reader.spans_of([trace_id])[trace_id]) == 3
    reader.close()


def test_retention_by_age_drops_what_arrived_before_the_cutoff(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    writer = StoreWriter(path, Retention(None, None))
    writer.start()
    old_id, old_spans = _trace("aging")
    _write(writer, old_spans)
    new_id, new_spans = _trace("aging")
    _write(writer, new_spans)
    writer.stop()

    conn = sqlite3.connect(path, isolation_level=None)
    (first_commit, last_commit) = conn.execute(
        "SELECT min(committed_us), max(committed_us) FROM commits"
    ).fetchone()
    assert first_commit < last_commit
    # An hour's retention, seen from an hour after a moment between the two commits.
    between = (first_commit + last_commit) // 2
    assert apply_retention(conn, Retention(3600.0, None), now_us=between + 3600 * 1_000_000)
    conn.close()
    reader = StoreReader(path)
    assert set(reader.spans_of([old_id, new_id])) == {new_id}
    reader.close()


def test_retention_by_size_keeps_the_newest(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    limit = 512 * 1024
    writer = StoreWriter(path, Retention(None, limit, check_interval_s=0.0))
    writer.start()
    trace_ids = []
    for _ in range(60):  # ~60 x 20 spans x 1 kB: well over the limit
        trace_id, spans = _trace("big", spans=20, pad=1000)
        trace_ids.append(trace_id)
        _write(writer, spans)
    writer.stop()
    conn = sqlite3.connect(path)
    assert used_bytes(conn) <= limit * 1.2  # within one batch of the limit
    conn.close()
    reader = StoreReader(path)
    kept = reader.spans_of(trace_ids)
    assert trace_ids[-1] in kept
    assert trace_ids[0] not in kept
    # What is kept is the newest run of traces, each complete.
    first_kept = min(trace_ids.index(t) for t in kept)
    assert set(kept) == set(trace_ids[first_kept:])
    assert all(len(spans) == 20 for spans in kept.values())
    assert reader.find_trace_ids(TraceQuery(service="big", limit=1000)) != []
    reader.close()


async def test_idle_store_still_applies_retention(tmp_path: Path) -> None:
    writer = StoreWriter(tmp_path / "t.db", Retention(0.2, None, check_interval_s=0.05))
    writer.start()
    trace_id, spans = _trace("fleeting")
    _write(writer, spans)
    reader = StoreReader(tmp_path / "t.db")
    for _ in range(100):
        if not reader.spans_of([trace_id]):
            break
        await asyncio.sleep(0.05)
    assert reader.spans_of([trace_id]) == {}
    assert reader.services() == []  # its operations left with its spans
    reader.close()
    writer.stop()
