"""Tag search through the attribute signature in the search index: it must find exactly what
reading every span would, including attributes the signature cannot see whole, and a store
written by schema version 1 (no signature) must still answer after the upgrade."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from collector_tests.conftest import loopback_config, now_us
from collector_tests.otlp_builders import SpanSpec, new_trace_id, traces_request
from onehub_collector import start_collector
from onehub_collector.exporters import STORE_FILE
from onehub_collector.otlp_values import python_to_any_value, value_as_text
from onehub_collector.query.routes_jaeger import PARTIAL_SEARCH
from onehub_collector.store import reader as reader_module
from onehub_collector.store.reader import StoreReader, TraceQuery, TraceSearch
from onehub_collector.store.retention import Retention
from onehub_collector.store.tag_filter import (
    attribute_signature,
    encoded_key_values,
    signature_masks,
)
from onehub_collector.store.writer import StoreWriter, WriteBatch

# Values chosen to trip the signature: a 0x4A byte ("J", the int 74, a double whose bytes
# hold one), a KeyValue of 128 bytes or more (two-byte length), and plain ones.
_VALUES: list[Any] = ["GET", "Jaguar", "x" * 130, 74, -5, True, False, 1.5, 3.25e-300, "v1", 0]
_KEYS = ["http.method", "J.key", "attr.1", "attr.2"]


def _random_spans(rng: random.Random, service: str, count: int) -> list[SpanSpec]:
    start = now_us() - 60_000_000
    spans = []
    for index in range(count):
        attributes = {key: rng.choice(_VALUES) for key in _KEYS if rng.random() < 0.6}
        span = SpanSpec(service, f"op{index % 3}", start + index, 10, new_trace_id())
        span.attributes = attributes
        # Fields after the attributes, some with 0x4A bytes: they must not hide the last one.
        if rng.random() < 0.3:
            span.events = [("Joined", start + index, {"J": "J"})]
        if rng.random() < 0.3:
            span.links = [(b"J" * 16, b"JJJJJJJJ")]
        if rng.random() < 0.3:
            span.status, span.status_message = 2, "Jammed"
        spans.append(span)
    return spans


def _search(reader: StoreReader, service: str, key: str, value: str) -> set[bytes]:
    query = TraceQuery(service=service, tags={key: value}, limit=10_000)
    return set(reader.find_trace_ids(query))


def _write(path: Path, spans: list[SpanSpec]) -> None:
    writer = StoreWriter(path, Retention(None, None))
    writer.start()
    writer.submit(WriteBatch(traces=[traces_request(spans)]))
    assert writer.flush()
    writer.stop()


def _tags_to_try() -> list[tuple[str, str]]:
    texts = {value_as_text(python_to_any_value(v)) for v in _VALUES} | {"absent", "75"}
    return [(key, text) for key in [*_KEYS, "no.such.key"] for text in sorted(texts)]


def test_signature_search_finds_what_reading_every_span_finds(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    spans = _random_spans(random.Random(11), "svc", 400)
    _write(path, spans)
    reader = StoreReader(path)
    with_signature = {tag: _search(reader, "svc", *tag) for tag in _tags_to_try()}
    reader.close()

    for key, text in _tags_to_try():
        expected = {
            s.trace_id
            for s in spans
            if key in s.attributes and value_as_text(python_to_any_value(s.attributes[key])) == text
        }
        assert with_signature[(key, text)] == expected, (key, text)
    assert any(with_signature.values())

    # Every bit set: the signature lets every span through and `instr` alone decides.
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE spans SET tag_bloom = -1")
    conn.close()
    reader = StoreReader(path)
    without = {tag: _search(reader, "svc", *tag) for tag in _tags_to_try()}
    reader.close()
    assert without == with_signature


def test_signature_holds_every_attribute_it_can_see_whole() -> None:
    span = traces_request(_random_spans(random.Random(5), "svc", 1)).resource_spans[0]
    body = span.scope_spans[0].spans[0].SerializeToString()
    signature = attribute_signature(body)
    assert 0 <= signature < 2**63  # a positive SQLite integer
    for kv in span.scope_spans[0].spans[0].attributes:
        masks = signature_masks(encoded_key_values(kv.key, value_as_text(kv.value)))
        if masks is not None:
            assert any(signature & mask == mask for mask in masks), kv.key
    # What the signature cannot see whole is left to the exact check.
    assert signature_masks(encoded_key_values("k", "Jaguar")) is None
    assert signature_masks(encoded_key_values("k", "x" * 130)) is None


_SCHEMA_V1_SPANS = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
INSERT INTO meta VALUES('schema_version', '1');
CREATE TABLE spans(
    id INTEGER PRIMARY KEY, trace_id BLOB NOT NULL, span_id BLOB NOT NULL,
    parent_id BLOB NOT NULL, service_id INTEGER NOT NULL, operation_id INTEGER NOT NULL,
    kind INTEGER NOT NULL, start_us INTEGER NOT NULL, duration_us INTEGER NOT NULL,
    status INTEGER NOT NULL, resource_id INTEGER NOT NULL, scope_id INTEGER NOT NULL,
    body BLOB NOT NULL);
CREATE UNIQUE INDEX spans_by_trace ON spans(trace_id, span_id);
CREATE INDEX spans_by_service ON spans(service_id, start_us);
CREATE INDEX spans_by_operation ON spans(operation_id, start_us);
"""


def test_a_version_1_store_is_upgraded_and_its_spans_found_by_tag(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(_SCHEMA_V1_SPANS)
    conn.close()
    old = _random_spans(random.Random(3), "svc", 1)[0]
    old.attributes = {"http.method": "GET"}
    _write(path, [old])  # opening upgrades the file; then give the old row no signature
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE spans SET tag_bloom = -1")
    conn.close()
    new = _random_spans(random.Random(4), "svc", 1)[0]
    new.attributes = {"http.method": "GET"}
    _write(path, [new])

    reader = StoreReader(path)
    assert _search(reader, "svc", "http.method", "GET") == {old.trace_id, new.trace_id}
    assert _search(reader, "svc", "http.method", "PUT") == set()
    reader.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("2",)
    indexes = {
        name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")
    }
    assert "spans_by_operation" not in indexes
    conn.close()


def test_search_budget_returns_what_it_found_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    spans = _random_spans(random.Random(7), "svc", 2000)
    _write(path, spans)
    query = TraceQuery(service="svc", tags={"no.such.key": "x"}, limit=20)
    reader = StoreReader(path)
    assert reader.search(query) == TraceSearch([], complete=True)
    reader.close()
    # No time at all: stopped at the first check (every ~1000 SQLite steps; this scan is more).
    hurried = StoreReader(path, search_budget_s=0.0)
    assert hurried.search(query) == TraceSearch([], complete=False)
    every = TraceQuery(service="svc", limit=5000)
    partial = hurried.search(every)
    assert not partial.complete
    assert len(partial.trace_ids) < len(spans)
    hurried.close()


async def test_partial_search_carries_a_jaeger_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader_module, "SEARCH_BUDGET_S", 0.0)
    _write(tmp_path / STORE_FILE, _random_spans(random.Random(8), "svc", 2000))
    running = await start_collector(loopback_config(tmp_path))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.ui_port}") as api:
            response = await api.get(
                "/jaeger/api/traces", params={"service": "svc", "tags": '{"no.such.key":"x"}'}
            )
    finally:
        await running.stop()
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == []
    assert body["errors"] == [{"code": 504, "msg": PARTIAL_SEARCH}]
