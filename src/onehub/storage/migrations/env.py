"""Alembic's environment: runs revisions on the connection `migrate()` hands over.

No alembic.ini and no logging set-up: configuration comes from `migrate()` in code.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
