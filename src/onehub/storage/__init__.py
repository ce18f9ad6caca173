"""Storage adapters implementing `onehub.services.ports`.

- `onehub.storage.memory`: `InMemoryDatabase` and `memory_uow_factory`, for fast unit tests.
- `onehub.storage.engine`: `create_engine(url)` for SQLite (aiosqlite) and PostgreSQL (asyncpg).
- `onehub.storage.migrate`: `migrate(engine)` upgrades the schema to the newest Alembic revision.
- `onehub.storage.uow`: `SqlUnitOfWork` and `sql_uow_factory(engine)`.
- `onehub.storage.sql_transaction`: the unit's connection: autocommit reads, one transaction from
  the first write, `snapshot()` and `atomic()`; `sqlite_driver`: one thread hop per SQLite
  statement.
"""
