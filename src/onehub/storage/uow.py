"""The SQL unit of work: one transaction over the SQL stores, rolled back unless committed.

    async with sql_uow_factory(engine)() as uow:
        await uow.topics.add(topic)
        await uow.commit()

Duplicate ids become AlreadyExists naming the id; a stale `expected_version` Aborted; a lock not
granted in time (SQLite busy, PostgreSQL deadlock) Aborted as well. Any other database error
propagates from SQLAlchemy. See `sql_transaction` for how each dialect runs the transaction.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from opentelemetry.trace import Tracer, TracerProvider
from sqlalchemy.ext.asyncio import AsyncEngine

from onehub.services.faults import FaultSwitchboard
from onehub.services.ports import (
    MessageStore,
    TopicStore,
    UnitOfWork,
    UnitOfWorkFactory,
    UserStore,
)

from .sql_messages import SqlMessageStore
from .sql_topics import SqlTopicStore
from .sql_transaction import SqlTransaction
from .sql_users import SqlUserStore
from .tracing import storage_tracer


class SqlUnitOfWork:
    """One pooled connection and transaction for the duration of `async with`."""

    def __init__(
        self,
        engine: AsyncEngine,
        tracer: Tracer | None = None,
        faults: FaultSwitchboard | None = None,
    ) -> None:
        tracer = tracer or storage_tracer()
        self._tx = SqlTransaction(engine, faults)
        self.users: UserStore = SqlUserStore(self._tx, tracer)
        self.topics: TopicStore = SqlTopicStore(self._tx, tracer)
        self.messages: MessageStore = SqlMessageStore(self._tx, tracer)

    async def __aenter__(self) -> Self:
        await self._tx.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._tx.close()

    async def commit(self) -> None:
        """Make this unit's changes durable and visible; later changes need another commit."""
        await self._tx.commit()


def sql_uow_factory(
    engine: AsyncEngine,
    tracer_provider: TracerProvider | None = None,
    *,
    faults: FaultSwitchboard | None = None,
) -> UnitOfWorkFactory:
    """Return a factory of units of work over `engine` (migrated with `migrate`); store spans go
    to `tracer_provider` (the global provider when None); `faults` may slow its statements (the
    db-latency fault)."""
    tracer = storage_tracer(tracer_provider)

    def make() -> UnitOfWork:
        return SqlUnitOfWork(engine, tracer, faults)

    return make
