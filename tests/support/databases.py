"""The database each test starts from: one per worker, step and backend, emptied per test.

Creating a database (and importing the step's app against it) costs far more
than the test that uses it, so each pytest worker keeps one database per
(step, backend) for the whole session, and empties it before every test: every
table's rows are deleted and its ids start again at 1, exactly as in a new
database, while the schema (and, for a step with migrations, its Alembic
revision) stays. Tests that change the schema itself ask for a brand-new
database instead (`empty_database_url`).
"""

from __future__ import annotations

import sqlite3
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Protocol

import psycopg
from psycopg import sql
from sqlalchemy import create_engine, text

from shared.catalog import Step
from tests.support import migrations, postgres

# Alembic's record of the schema's revision is schema, not data.
KEPT_TABLES = ("alembic_version",)


class Database(Protocol):
    url: str

    def empty(self) -> None: ...

    def close(self) -> None: ...


class SQLiteDatabase:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self._connection: sqlite3.Connection | None = None
        self._inode: int | None = None
        # The script that empties the tables, for the schema version it was made for.
        self._emptying: tuple[int, str] | None = None

    def _admin(self) -> sqlite3.Connection:
        """This worker's connection to the file, kept open; a new one if the file was replaced."""
        inode = self.path.stat().st_ino
        if self._connection is None or inode != self._inode:
            self.close()
            # Autocommit: the script below says where its transaction begins and ends.
            self._connection = sqlite3.connect(self.path, isolation_level=None)
            # Emptying a test database need not wait for the disk: without
            # this, each test's emptying waited for an fsync (about 9 ms).
            self._connection.execute("PRAGMA synchronous = OFF")
            self._inode = inode
        return self._connection

    def empty(self) -> None:
        if not self.path.exists():  # nothing has started on it yet
            return
        connection = self._admin()
        # The schema's version changes with every CREATE, ALTER or DROP: the
        # script is made again only then (the steps before migrations create
        # their tables when the app first starts).
        (version,) = connection.execute("PRAGMA schema_version").fetchone()
        if self._emptying is None or self._emptying[0] != version:
            self._emptying = (version, self._emptying_script(connection))
        if self._emptying[1]:
            connection.executescript(self._emptying[1])

    @staticmethod
    def _emptying_script(connection: sqlite3.Connection) -> str:
        """One transaction that deletes every row and resets every id ("" without tables).

        A plain sqlite3 connection does not enforce foreign keys, so the
        tables can be emptied in any order.
        """
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
            if name not in KEPT_TABLES
        ]
        if not tables:
            return ""
        statements = [f'DELETE FROM "{table}";' for table in tables]
        # AUTOINCREMENT tables remember their highest id here.
        has_sequence = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'"
        ).fetchone()
        if has_sequence:
            statements.append("DELETE FROM sqlite_sequence;")
        return "\n".join(["BEGIN;", *statements, "COMMIT;"])

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class PostgreSQLDatabase:
    def __init__(self, server: postgres.Server, name: str) -> None:
        self.server = server
        self.name = name
        self.url = server.url_of(name)
        self._connection: psycopg.Connection | None = None
        self._emptying: bytes | None = None

    def _admin(self) -> psycopg.Connection:
        if self._connection is None or self._connection.closed:
            self._connection = self.server.connect(self.name)
            # Emptying a test database need not wait for the disk.
            self._connection.execute("SET synchronous_commit = off")
        return self._connection

    def empty(self) -> None:
        # DELETE, then each sequence back to 1: for the few rows a test
        # leaves, ten times faster than TRUNCATE ... RESTART IDENTITY, which
        # gives every table a new file on disk (3 ms against 30 ms a test).
        if self._emptying is None:
            self._emptying = self._emptying_script()
        if self._emptying:
            self._admin().execute(self._emptying)

    def _emptying_script(self) -> bytes | None:
        """One round trip that empties every table (children first) and resets every id.

        Made once the app has created its tables (the steps before migrations
        create them at start-up); None until then, so it is asked again.
        """
        connection = self._admin()
        tables = [
            name for name in self._tables_children_first(connection) if name not in KEPT_TABLES
        ]
        if not tables:
            return None
        sequences = [
            sql.Identifier(schema, name)
            for schema, name in connection.execute(
                "SELECT schemaname, sequencename FROM pg_sequences WHERE schemaname = 'public'"
            )
        ]
        statements = [sql.SQL("DELETE FROM {}").format(sql.Identifier(t)) for t in tables]
        statements += [
            sql.SQL("SELECT setval({}, 1, false)").format(sql.Literal(seq.as_string(connection)))
            for seq in sequences
        ]
        # Several statements without parameters run as one implicit transaction.
        return sql.SQL("; ").join(statements).as_bytes(connection)

    @staticmethod
    def _tables_children_first(connection: psycopg.Connection) -> list[str]:
        """The public tables, each before the tables its foreign keys point at."""
        # A table's rows go after the rows that refer to them: each table
        # waits for its children (a cycle raises graphlib.CycleError).
        children: dict[str, set[str]] = {
            name: set()
            for (name,) in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        }
        for child, parent in connection.execute(
            "SELECT conrelid::regclass::text, confrelid::regclass::text"
            " FROM pg_constraint WHERE contype = 'f'"
        ):
            if parent in children and child != parent:
                children[parent].add(child)
        return list(TopologicalSorter(children).static_order())

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self.server.drop(self.name)


def rows(url: str, sql: str, **params) -> list[tuple]:
    """The rows a query returns, on a connection of its own (what HTTP cannot show)."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]
    finally:
        engine.dispose()


def execute(url: str, sql: str, **params) -> None:
    """Run one statement and commit it, on a connection of its own."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(sql), params)
    finally:
        engine.dispose()


def create(step: Step, backend: str, folder: Path, server: postgres.Server | None) -> Database:
    """A new database for `step`, brought to the newest migration if the step has them."""
    database: Database
    if backend == "postgresql":
        assert server is not None
        database = PostgreSQLDatabase(server, server.create())
    else:
        database = SQLiteDatabase(folder / f"{step.package}.db")
    # A judged copy without migrations yet (a fresh practice copy of step 5 is
    # step 4's code) creates its tables at start-up, as step 4 does: only the
    # rules about migrations fail, not every rule that needs a database.
    if step.offers("migrations") and step.alembic_ini.exists():
        migrations.upgrade(step, database.url)
    return database
