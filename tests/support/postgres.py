"""Throw-away PostgreSQL databases for the tests, one per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from sqlalchemy import make_url


class Server:
    """The server behind TEST_DATABASE_URL; its database is only used to connect."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        if self.url.get_backend_name() != "postgresql":
            raise ValueError(f"TEST_DATABASE_URL is not a PostgreSQL URL: {url}")
        if self.url.drivername != "postgresql+psycopg":
            self.url = self.url.set(drivername="postgresql+psycopg")
        # Fail loudly (not skip) when the variable is set but the server is not there.
        with self._admin() as connection:
            connection.execute("SELECT 1")

    def _admin(self) -> psycopg.Connection:
        conninfo = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return psycopg.connect(conninfo, autocommit=True)

    @contextmanager
    def new_database(self) -> Iterator[str]:
        name = f"test_{uuid.uuid4().hex[:16]}"
        with self._admin() as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield self.url.set(database=name).render_as_string(hide_password=False)
        finally:
            with self._admin() as connection:
                connection.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
