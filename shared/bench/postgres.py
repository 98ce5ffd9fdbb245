"""Throw-away PostgreSQL databases for the sync-vs-async A/B.

Where no server answers, the benchmark prints why and leaves PostgreSQL's
rows out (CI always has one).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from sqlalchemy import make_url

# The server CI and `make test` use; BENCH_POSTGRES_URL, or --postgres, names another.
DEFAULT_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _conninfo(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def unavailable(url: str) -> str | None:
    """Why no database can be made on the server at `url`; None when one can."""
    if not url:
        return "no PostgreSQL server given (--postgres '')"
    try:
        with psycopg.connect(_conninfo(url), autocommit=True, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        return f"no PostgreSQL answers at {make_url(url).render_as_string()}: {error}".strip()
    return None


@contextmanager
def throwaway_database(url: str) -> Iterator[str]:
    """A new, empty database on the server at `url`; its URL. Dropped on exit."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_conninfo(url), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_conninfo(url), autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
