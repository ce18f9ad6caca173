"""Automatic findings on one trace: only what an engineer would act on.

Each finding is `{kind, spanIDs, message}`. Four kinds, defined so that ordinary traffic (a
request, its RPC, its service method and the one database transaction behind it) yields none:

- `n_plus_one`: under one parent, the same database statement *shape* runs at least
  `min_repeats` times. The shape is the statement with string and number literals and IN-lists
  reduced to `?`, so `WHERE id = 1` and `WHERE id = 2` are one shape. Transaction control
  (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE, SET, PRAGMA) is never counted: a transaction
  needs it, a batch cannot replace it. A span that only wraps one statement (a repository
  method's span around its query) counts as that statement, so a loop over such a method is
  caught too. Calls that carry no statement count when they are CLIENT calls of one service
  and operation to one target (an RPC in a loop).
- `sequential`: under one parent, two or more CLIENT calls that are not database statements,
  go to *different* downstream targets (`peer.service`, `rpc.service`, `server.address` and
  port, or else the service that answered the call), and run one after another without
  overlapping, where running them in parallel would save at least a tenth of the parent's
  time. Database statements are never flagged: statements of one request share a connection
  and usually one transaction, and a connection runs one statement at a time. Repeats of one
  call are N+1's business, not this one's.
- `slow_span`: one span with no children (a statement, a call, a piece of work not broken
  down further) is at least half of the critical path of a trace that took at least
  `slow_us` (1 s by default). Time a parent spends between its children is not reported: it
  is a gap (a wait for a lock, a busy event loop), seen on an overloaded machine.
- `swallowed_error`: a span failed (ERROR status), yet the request answered with success:
  there is a SERVER span above it, no span above it up to the root failed (the highest failure
  is the one reported), no SERVER span above it answered a 4xx/5xx HTTP status or a non-zero
  gRPC code, and no later sibling of the same operation on the way (a retry) succeeded. An
  expected 4xx that reaches the client as a 4xx is therefore not a finding, however deep the
  exception that caused it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from onehub_collector.store.reader import StoredSpan

_STATEMENT_KEYS = ("db.query.text", "db.statement")
_DB_SYSTEM_KEYS = ("db.system.name", "db.system")
_TARGET_KEYS = ("peer.service", "rpc.service", "server.address", "net.peer.name")
_PORT_KEYS = ("server.port", "net.peer.port")
_HTTP_STATUS_KEYS = ("http.response.status_code", "http.status_code")
_GRPC_STATUS_KEYS = ("rpc.grpc.status_code", "rpc.response.status_code")
_KIND_SERVER = 2
_KIND_CLIENT = 3
_STATUS_ERROR = 2
_TRANSACTION_CONTROL = frozenset(
    {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "START", "END", "SET", "PRAGMA"}
)
DEFAULT_SLOW_US = 1_000_000
_SLOW_SHARE = 0.5
_SEQUENTIAL_MIN_SAVING = 0.1

_LITERALS = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b|\$\d+|:\w+|%\(\w+\)s|%s")
_IN_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)*\s*\)")


def _value(value: AnyValue) -> str | int | None:
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "int_value":
        return value.int_value
    return None


def _attributes(span: Span) -> dict[str, str | int]:
    found: dict[str, str | int] = {}
    for kv in span.attributes:
        value = _value(kv.value)
        if value is not None and value != "":
            found[kv.key] = value
    return found


def statement_shape(text: str) -> str:
    """The statement with whitespace collapsed and literals, placeholders and IN-lists as `?`."""
    shape = _LITERALS.sub("?", re.sub(r"\s+", " ", text.strip()))
    return _IN_LIST.sub("(?)", shape)


def _first(attributes: dict[str, str | int], keys: Iterable[str]) -> str | int | None:
    return next((attributes[k] for k in keys if k in attributes), None)


class _Node:
    __slots__ = ("_target", "attributes", "children", "parent", "span", "statement", "stored")

    def __init__(self, stored: StoredSpan) -> None:
        self.stored = stored
        self.span = stored.span
        self.attributes = _attributes(stored.span)
        self.parent: _Node | None = None
        self.children: list[_Node] = []
        text = _first(self.attributes, _STATEMENT_KEYS)
        self.statement = statement_shape(text) if isinstance(text, str) else None
        self._target: str | None = None

    @property
    def id(self) -> str:
        return self.span.span_id.hex()

    @property
    def start(self) -> int:
        return self.span.start_time_unix_nano

    @property
    def end(self) -> int:
        return max(self.span.end_time_unix_nano, self.span.start_time_unix_nano)

    @property
    def failed(self) -> bool:
        return self.span.status.code == _STATUS_ERROR

    @property
    def is_database(self) -> bool:
        return self.statement is not None or _first(self.attributes, _DB_SYSTEM_KEYS) is not None

    def target(self) -> str:
        """Where a CLIENT call goes: its peer attributes, else the service that answered it."""
        if self._target is None:
            self._target = self._find_target()
        return self._target

    def _find_target(self) -> str:
        named = _first(self.attributes, _TARGET_KEYS)
        method = self.attributes.get("rpc.method")
        if named is None and isinstance(method, str) and "/" in method:
            named = method.rsplit("/", 1)[0]  # gRPC's full method: "package.Service/Method"
        if named is not None:
            port = _first(self.attributes, _PORT_KEYS)
            return f"{named}:{port}" if port is not None else str(named)
        answered = {c.stored.service for c in self.children if c.span.kind == _KIND_SERVER}
        if answered:
            return ",".join(sorted(answered))
        return f"{self.stored.service} {self.span.name}"


def _tree(spans: Sequence[StoredSpan]) -> list[_Node]:
    nodes = [_Node(s) for s in spans]
    by_id = {n.span.span_id: n for n in nodes}
    for node in nodes:
        parent = by_id.get(node.span.parent_span_id)
        if parent is not None and parent is not node:
            node.parent = parent
            parent.children.append(node)
    for node in nodes:
        node.children.sort(key=lambda n: (n.start, n.end))
    return nodes


def find_issues(
    spans: Sequence[StoredSpan], *, min_repeats: int = 5, slow_us: int = DEFAULT_SLOW_US
) -> list[dict[str, Any]]:
    """Findings of the four kinds, each `{kind, spanIDs, message}`."""
    nodes = _tree(spans)
    found: list[dict[str, Any]] = []
    for node in nodes:
        if len(node.children) < 2:
            continue
        repeats = _n_plus_one(node, min_repeats)
        found.extend(repeats)
        repeated = {span_id for finding in repeats for span_id in finding["spanIDs"]}
        found.extend(_sequential(node, [c for c in node.children if c.id not in repeated]))
    found.extend(_slow(nodes, slow_us))
    found.extend(_swallowed(nodes))
    return found


def _statement_key(node: _Node) -> str | None:
    statement = node.statement
    if statement is None or statement.split(" ", 1)[0].upper() in _TRANSACTION_CONTROL:
        return None
    return statement


def _wrapped_statement(node: _Node) -> str | None:
    """The one statement under a span that only wraps it (a repository method's span around
    its query, with at most transaction control beside it); None for anything else."""
    if not node.children or any(c.statement is None or c.children for c in node.children):
        return None
    inner = [key for c in node.children if (key := _statement_key(c)) is not None]
    return inner[0] if len(inner) == 1 else None


def _repeat_key(node: _Node) -> tuple[str, str] | None:
    if node.statement is not None:
        statement = _statement_key(node)
        return None if statement is None else ("statement", statement)
    if node.span.kind == _KIND_CLIENT and not node.is_database:
        return ("call", f"{node.stored.service} {node.span.name} -> {node.target()}")
    wrapped = _wrapped_statement(node)
    return None if wrapped is None else ("statement", wrapped)


def _n_plus_one(parent: _Node, min_repeats: int) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[_Node]] = {}
    for child in parent.children:
        key = _repeat_key(child)
        if key is not None:
            groups.setdefault(key, []).append(child)
    found = []
    for (what, text), repeated in groups.items():
        if len(repeated) < min_repeats:
            continue
        label = f"statement {text!r}" if what == "statement" else f"call {text!r}"
        total = sum(n.end - n.start for n in repeated) // 1000
        found.append(
            {
                "kind": "n_plus_one",
                "spanIDs": [n.id for n in repeated],
                "message": f"{label} ran {len(repeated)} times under {parent.span.name!r}"
                f" ({total} µs in all); one batched call could replace them",
            }
        )
    return found


def _sequential(parent: _Node, children: list[_Node]) -> list[dict[str, Any]]:
    calls = [c for c in children if c.span.kind == _KIND_CLIENT and not c.is_database]
    found = []
    run: list[_Node] = []
    for call in calls:
        if run and (call.start < run[-1].end or call.target() in {c.target() for c in run}):
            found.extend(_report_run(parent, run))
            run = []
        run.append(call)
    found.extend(_report_run(parent, run))
    return found


def _report_run(parent: _Node, run: list[_Node]) -> list[dict[str, Any]]:
    if len(run) < 2:
        return []
    durations = [(c.end - c.start) // 1000 for c in run]
    total, longest = sum(durations), max(durations)
    parent_us = max(1, (parent.end - parent.start) // 1000)
    if total - longest < _SEQUENTIAL_MIN_SAVING * parent_us:
        return []
    targets = ", ".join(c.target() for c in run)
    return [
        {
            "kind": "sequential",
            "spanIDs": [c.id for c in run],
            "message": f"{len(run)} calls to different targets ({targets}) under"
            f" {parent.span.name!r} ran one after another ({total} µs); in parallel they"
            f" could take about {longest} µs",
        }
    ]


def _critical_self_time(nodes: list[_Node]) -> dict[str, int]:
    """Nanoseconds each span itself (not a child) spent on the trace's critical path."""
    roots = [n for n in nodes if n.parent is None]
    own: dict[str, int] = {}
    if not roots:
        return own
    root = max(roots, key=lambda n: n.end - n.start)
    work = [(root, root.end)]
    while work:
        node, limit = work.pop()
        cursor = min(node.end, limit)
        children = sorted(
            (
                (max(c.start, node.start), min(c.end, node.end), c)
                for c in node.children
                if min(c.end, node.end) > max(c.start, node.start)
            ),
            key=lambda item: item[1],
            reverse=True,
        )
        for start, end, child in children:
            if end > cursor or start >= cursor:
                continue
            own[child.id] = own.get(child.id, 0)
            own[node.id] = own.get(node.id, 0) + cursor - end
            work.append((child, end))
            cursor = start
            if cursor <= node.start:
                break
        own[node.id] = own.get(node.id, 0) + max(0, cursor - node.start)
    return own


def _slow(nodes: list[_Node], slow_us: int) -> list[dict[str, Any]]:
    if not nodes:
        return []
    start = min(n.start for n in nodes)
    duration = max(n.end for n in nodes) - start
    if duration < slow_us * 1000:
        return []
    by_id = {n.id: n for n in nodes}
    found = []
    for span_id, own in _critical_self_time(nodes).items():
        node = by_id[span_id]
        # Only a span not broken down further: time a parent spends between its children is
        # a gap (a wait on a lock, a busy event loop), not work to point an engineer at.
        if own >= _SLOW_SHARE * duration and not node.children:
            found.append(
                {
                    "kind": "slow_span",
                    "spanIDs": [span_id],
                    "message": f"{node.stored.service} {node.span.name!r} took"
                    f" {own // 1000} µs of the trace's {duration // 1000} µs"
                    f" ({100 * own // duration}% of the critical path)",
                }
            )
    return found


def _code(value: str | int | None) -> int | None:
    if isinstance(value, str):
        return int(value) if value.strip().isdigit() else None
    return value


def _answered_success(server: _Node) -> bool:
    if server.failed:
        return False
    http = _code(_first(server.attributes, _HTTP_STATUS_KEYS))
    if http is not None and http >= 400:
        return False
    grpc = _code(_first(server.attributes, _GRPC_STATUS_KEYS))
    return grpc is None or grpc == 0


def _retried(node: _Node) -> bool:
    """A later sibling of the same service and operation that succeeded."""
    siblings = node.parent.children if node.parent else []
    return any(
        s is not node
        and s.start >= node.start
        and not s.failed
        and s.span.name == node.span.name
        and s.stored.service == node.stored.service
        for s in siblings
    )


def _swallowed(nodes: list[_Node]) -> list[dict[str, Any]]:
    found = []
    for node in nodes:
        if not node.failed or _retried(node):
            continue
        boundary = _success_boundary(node)
        if boundary is None:
            continue
        reason = f" ({node.span.status.message})" if node.span.status.message else ""
        found.append(
            {
                "kind": "swallowed_error",
                "spanIDs": [node.id, boundary.id],
                "message": f"{node.stored.service} {node.span.name!r} failed{reason}, yet"
                f" {boundary.stored.service} {boundary.span.name!r} answered with success",
            }
        )
    return found


def _success_boundary(failed: _Node) -> _Node | None:
    """The nearest SERVER span above a failure, when the failure never surfaced: every span
    up to the root succeeded, every server among them answered success, and no retry of a
    span on the way succeeded. None otherwise (the highest failure is the one reported)."""
    boundary: _Node | None = None
    cursor = failed.parent
    while cursor is not None:
        if cursor.failed or _retried(cursor):
            return None
        if cursor.span.kind == _KIND_SERVER:
            if not _answered_success(cursor):
                return None
            boundary = boundary or cursor
        cursor = cursor.parent
    return boundary
