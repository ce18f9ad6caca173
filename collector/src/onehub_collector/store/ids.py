"""Ids for the store's small dimension tables (services, operations, resources, scopes),
cached in the writer so the hot loop pays a dict lookup, not a query."""

from __future__ import annotations

import sqlite3
from typing import TypeVar

from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from onehub_collector.otlp_values import service_name

# Beyond this many cached entries a table's cache starts over: a stream of distinct resources
# (a new process id per restart) must not grow the writer's memory without bound.
_CACHE_LIMIT = 20_000
_K = TypeVar("_K")
_V = TypeVar("_V")


class DimensionIds:
    """Get-or-create ids, used only by the writer thread (one connection, one thread)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._services: dict[str, int] = {}
        self.operations: dict[tuple[int, str], int] = {}
        self.operation_kinds: set[tuple[int, int]] = set()
        self._resources: dict[bytes, tuple[int, int, str]] = {}
        self._scopes: dict[bytes, int] = {}

    def clear(self) -> None:
        """Forget everything cached (after retention removed rows the caches may name)."""
        self._services.clear()
        self.operations.clear()
        self.operation_kinds.clear()
        self._resources.clear()
        self._scopes.clear()

    def service(self, name: str) -> int:
        found = self._services.get(name)
        if found is not None:
            return found
        self._conn.execute("INSERT OR IGNORE INTO services(name) VALUES(?)", (name,))
        (service_id,) = self._conn.execute(
            "SELECT id FROM services WHERE name=?", (name,)
        ).fetchone()
        _bounded(self._services)[name] = service_id
        return int(service_id)

    def resource(self, resource: Resource) -> tuple[int, int, str]:
        """(resource id, service id, service name) for a resource."""
        body = resource.SerializeToString(deterministic=True)
        found = self._resources.get(body)
        if found is not None:
            return found
        name = service_name(resource.attributes)
        service_id = self.service(name)
        self._conn.execute(
            "INSERT OR IGNORE INTO resources(body, service_id) VALUES(?, ?)", (body, service_id)
        )
        (resource_id,) = self._conn.execute(
            "SELECT id FROM resources WHERE body=?", (body,)
        ).fetchone()
        result = (int(resource_id), service_id, name)
        _bounded(self._resources)[body] = result
        return result

    def scope(self, scope: InstrumentationScope) -> int:
        body = scope.SerializeToString(deterministic=True)
        found = self._scopes.get(body)
        if found is not None:
            return found
        self._conn.execute(
            "INSERT OR IGNORE INTO scopes(body, name, version) VALUES(?, ?, ?)",
            (body, scope.name, scope.version),
        )
        (scope_id,) = self._conn.execute("SELECT id FROM scopes WHERE body=?", (body,)).fetchone()
        _bounded(self._scopes)[body] = int(scope_id)
        return int(scope_id)

    def operation(self, service_id: int, name: str) -> int:
        key = (service_id, name)
        found = self.operations.get(key)
        if found is not None:
            return found
        self._conn.execute("INSERT OR IGNORE INTO operations(service_id, name) VALUES(?, ?)", key)
        (operation_id,) = self._conn.execute(
            "SELECT id FROM operations WHERE service_id=? AND name=?", key
        ).fetchone()
        _bounded(self.operations)[key] = int(operation_id)
        return int(operation_id)

    def note_kind(self, operation_id: int, kind: int) -> None:
        key = (operation_id, kind)
        if key in self.operation_kinds:
            return
        self._conn.execute(
            "INSERT OR IGNORE INTO operation_kinds(operation_id, kind) VALUES(?, ?)", key
        )
        if len(self.operation_kinds) >= _CACHE_LIMIT:
            self.operation_kinds.clear()
        self.operation_kinds.add(key)


def _bounded(cache: dict[_K, _V]) -> dict[_K, _V]:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    return cache
