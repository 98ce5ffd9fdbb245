"""Users gain a password hash, NULL for the users who existed before.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What reflection cannot see and a SQLite rebuild must keep.
REBUILT_USERS = {"sqlite_autoincrement": True}


def upgrade() -> None:
    # Nullable, with no default: a user who existed before has no password
    # and cannot log in until an admin sets one. Nothing is invented for them.
    with op.batch_alter_table("users", table_kwargs=REBUILT_USERS) as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))


def downgrade() -> None:
    # On SQLite, dropping a column rebuilds the table: REBUILT_USERS keeps
    # AUTOINCREMENT, and env.py keeps the posts (foreign keys off meanwhile).
    with op.batch_alter_table("users", table_kwargs=REBUILT_USERS) as batch_op:
        batch_op.drop_column("password_hash")
