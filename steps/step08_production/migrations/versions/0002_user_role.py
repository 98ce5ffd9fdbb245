"""Users gain a role: "member" (the default, also for existing users) or "admin".

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What reflection cannot see and a SQLite rebuild must keep.
REBUILT_USERS = {"sqlite_autoincrement": True}


def upgrade() -> None:
    # batch_alter_table: on SQLite, which cannot add a CHECK constraint to an
    # existing table, Alembic rebuilds the table (copy, move rows, swap);
    # elsewhere it emits plain ALTER TABLE statements.
    with op.batch_alter_table("users", table_kwargs=REBUILT_USERS) as batch_op:
        # NOT NULL with a server default: every existing row gets "member".
        batch_op.add_column(
            sa.Column("role", sa.String(length=20), server_default="member", nullable=False)
        )
        batch_op.create_check_constraint(op.f("ck_users_role"), "role IN ('member', 'admin')")


def downgrade() -> None:
    with op.batch_alter_table("users", table_kwargs=REBUILT_USERS) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.drop_column("role")
