"""The fixed data set, bulk-inserted into the step's own tables.

Inserting through the API would take longer than the benchmark itself;
SQLAlchemy Core's executemany into the tables the step's models declare takes
well under a second for 1,000 users with 10 posts each. On a step with
passwords every user gets the same Argon2id hash, made once: a thousand
hashes would take two minutes, and logging in checks any of them alike.
"""

from __future__ import annotations

import importlib
import sqlite3
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, MetaData, Table, create_engine, insert, make_url, select

from shared.catalog import Step

# The password of every seeded user (and of the user the benchmark logs in as).
PASSWORD = "bench-password"


def username(index: int) -> str:
    """The username of the `index`-th seeded user (from 0)."""
    return f"user{index}"


def step_tables(step: Step) -> MetaData:
    """The step's metadata, with every table its models declare."""
    models = importlib.import_module(f"steps.{step.package}.models")
    return models.Base.metadata


def _insert(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """One executemany; nothing for no rows (an INSERT without values would add one)."""
    if rows:
        connection.execute(insert(table), rows)


def seed(
    database_url: str,
    step: Step,
    *,
    tasks: int,
    users: int,
    posts_per_user: int,
    password_hash: str | None = None,
) -> list[int]:
    """Insert the data set into an empty database whose tables exist; return the user ids.

    `password_hash` is every user's, on a step with passwords.
    """
    tables = step_tables(step).tables
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            task_rows = [{"title": f"Task {n}", "description": "Seeded"} for n in range(tasks)]
            _insert(connection, tables["tasks"], task_rows)
            if not step.offers("users"):
                return []
            user_rows = [
                {"username": username(n), "email": f"{username(n)}@example.com"}
                | {"full_name": f"User {n}"}
                | ({"password_hash": password_hash} if step.offers("auth") else {})
                for n in range(users)
            ]
            _insert(connection, tables["users"], user_rows)
            users_table = tables["users"]
            user_ids = list(connection.scalars(select(users_table.c.id).order_by(users_table.c.id)))
            if step.offers("posts"):
                _insert(connection, tables["posts"], _post_rows(user_ids, posts_per_user))
            return user_ids
    finally:
        engine.dispose()


def create_tables(database_url: str, step: Step) -> None:
    """The tables of a step without migrations, as its lifespan would create them."""
    engine = create_engine(database_url)
    try:
        step_tables(step).create_all(engine)
    finally:
        engine.dispose()


def copy_sqlite(source_url: str, target_url: str) -> None:
    """A copy of a SQLite database (SQLite's backup API: whole, whatever the journal)."""
    source_path, target_path = make_url(source_url).database, make_url(target_url).database
    with sqlite3.connect(source_path) as source, sqlite3.connect(target_path) as target:
        source.backup(target)
    source.close()
    target.close()


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
