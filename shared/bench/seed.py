"""The fixed data set, bulk-inserted into the step's own tables.

Inserting through the API would take longer than the benchmark itself;
SQLAlchemy Core's executemany into the tables the step's models declare takes
well under a second for 1,000 users with 10 posts each.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, MetaData, Table, create_engine, insert, select

from shared.catalog import Step


def step_tables(step: Step) -> MetaData:
    """The step's metadata, with every table its models declare."""
    models = importlib.import_module(f"steps.{step.package}.models")
    return models.Base.metadata


def _insert(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """One executemany; nothing for no rows (an INSERT without values would add one)."""
    if rows:
        connection.execute(insert(table), rows)


def seed(
    database_url: str, step: Step, *, tasks: int, users: int, posts_per_user: int
) -> list[int]:
    """Insert the data set into an empty database whose tables exist; return the user ids."""
    tables = step_tables(step).tables
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            task_rows = [{"title": f"Task {n}", "description": "Seeded"} for n in range(tasks)]
            _insert(connection, tables["tasks"], task_rows)
            if not step.offers("users"):
                return []
            user_rows = [
                {"username": f"user{n}", "email": f"user{n}@example.com", "full_name": f"User {n}"}
                for n in range(users)
            ]
            _insert(connection, tables["users"], user_rows)
            user_ids = list(connection.scalars(select(tables["users"].c.id)))
            if step.offers("posts"):
                _insert(connection, tables["posts"], _post_rows(user_ids, posts_per_user))
            return user_ids
    finally:
        engine.dispose()


def _post_rows(user_ids: list[int], posts_per_user: int) -> list[dict[str, Any]]:
    posted = datetime.now(UTC)
    return [
        {
            "title": f"Post {n}",
            "content": "Seeded. " * 20,
            "user_id": user_id,
            "date_posted": posted,
        }
        for user_id in user_ids
        for n in range(posts_per_user)
    ]
