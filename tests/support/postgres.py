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

    def connect(self, database: str | None = None) -> psycopg.Connection:
        """An autocommit connection to `database` (by default the server's own)."""
        url = self.url.set(drivername="postgresql")
        if database is not None:
            url = url.set(database=database)
        return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)

    def _admin(self) -> psycopg.Connection:
        return self.connect()

    def url_of(self, database: str) -> str:
        return self.url.set(database=database).render_as_string(hide_password=False)

    def create(self, template: str | None = None) -> str:
        """A new empty database (or a copy of `template`); returns its name."""
        name = f"test_{uuid.uuid4().hex[:16]}"
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with self._admin() as connection:
            connection.execute(statement)
        return name

    def drop(self, name: str) -> None:
        with self._admin() as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    @contextmanager
    def new_database(self, template: str | None = None) -> Iterator[str]:
        name = self.create(template)
        try:
            yield self.url_of(name)
        finally:
            self.drop(name)


LOCAL_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def probe(url: str = LOCAL_URL) -> bool:
    """Whether a PostgreSQL server answers at `url` within two seconds."""
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        psycopg.connect(conninfo, connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


if __name__ == "__main__":
    # `python -m tests.support.postgres` prints the local server's URL if one
    # answers, so that `make test` runs the PostgreSQL half where it can.
    if probe():
        print(LOCAL_URL)
