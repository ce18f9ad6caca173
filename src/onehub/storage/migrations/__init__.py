"""Alembic migrations of OneHub's schema, run by `onehub.storage.migrate.migrate`."""
