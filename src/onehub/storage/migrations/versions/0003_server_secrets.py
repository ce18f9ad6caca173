"""A table for the deployment's secrets, such as the key that signs page keys.

Every replica of one deployment shares its database, so a secret stored here is the same for all
of them and survives restarts. The rows are made at first start (`storage.secrets`), not here,
so that a database restored elsewhere can be given its own by deleting them.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_server_secrets"),
    )


def downgrade() -> None:
    op.drop_table("server_secrets")
