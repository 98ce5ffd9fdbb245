"""The database connection: engine, sessions, the declarative base, for asyncio."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import Depends
from sqlalchemy import BigInteger, Connection, Integer, MetaData, event, make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.util import await_

from .settings import settings

DATABASE_URL = settings.database_url

# --8<-- [start:url]
# The URLs of step 6 keep working. SQLite's default driver (pysqlite) blocks,
# so a sqlite:// URL is served by aiosqlite, its asyncio twin. PostgreSQL's
# postgresql+psycopg:// needs no change: psycopg 3 is one driver with a sync
# and an async mode, and create_async_engine picks the async one.
SYNC_TO_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "sqlite+pysqlite": "sqlite+aiosqlite"}

url = make_url(DATABASE_URL)
url = url.set(drivername=SYNC_TO_ASYNC_DRIVERS.get(url.drivername, url.drivername))
# --8<-- [end:url]
IS_SQLITE = url.get_backend_name() == "sqlite"

# --8<-- [start:engine]
engine = create_async_engine(
    url,
    # Up to 40 requests hold a connection at once, as in step 6; the others
    # wait for one to be returned. No thread pool limits how many requests
    # run at once any more: on the event loop, this pool does.
    pool_size=40,
    # A pooled connection the database has dropped (a restart, a failover, a
    # network cut) is replaced before a request gets it, at the cost of one
    # round trip per checkout: after an outage, no request fails on a dead one.
    # A SQLite database is a file this process opens itself: nothing can drop
    # its connections, and the round trip would be spent for nothing.
    pool_pre_ping=not IS_SQLITE,
)


class SyncSession(Session):
    """The plain Session inside every AsyncSession of this app.

    An AsyncSession runs SQLAlchemy's own (sync) code in a greenlet and awaits
    the driver for it; session events are heard on the sync session, so this
    class is where the listeners below are attached.
    """


# expire_on_commit=False: after a commit, an object keeps the values it has.
# By default they would expire, and reading one (user.id, to sign a token)
# would load it again: a query in a plain attribute access, which asyncio
# cannot await (MissingGreenlet).
SessionLocal = async_sessionmaker(engine, sync_session_class=SyncSession, expire_on_commit=False)
# --8<-- [end:engine]

if IS_SQLITE:
    # Connections are made by the sync engine inside the async one: its events are
    # plain functions, run where the driver can be awaited for them.
    @event.listens_for(engine.sync_engine, "connect")
    def configure_sqlite(dbapi_connection, _connection_record) -> None:
        cursor = dbapi_connection.cursor()
        # Write-ahead log: readers no longer block the writer, nor it them.
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode, NORMAL writes the log at each commit and syncs it to
        # disk at checkpoints: a commit survives a killed process; only a power
        # cut may undo the last ones (never corrupting the file). Writers hold
        # the lock far shorter than with FULL (see the benchmark page).
        cursor.execute("PRAGMA synchronous=NORMAL")
        # A writer waits for the write lock instead of failing at once with
        # "database is locked" when another request is writing.
        cursor.execute("PRAGMA busy_timeout=30000")
        # SQLite ignores foreign keys (and their ON DELETE CASCADE) unless asked.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    # --8<-- [start:write_turn]
    # SQLite lets one writer in at a time, and busy_timeout makes the others
    # poll for the lock with sleeps that grow to 100 ms: under load an unlucky
    # writer waits a second while later ones go first. The writers of this
    # process queue on a lock instead, from their first write to the end of
    # their transaction (busy_timeout still covers other processes).
    #
    # An asyncio.Lock, not step 6's threading.Lock: every request runs on the
    # event loop's one thread, so a request blocked on a threading.Lock would
    # stop the loop, and with it the request holding the lock (a deadlock).
    # Waiting on an asyncio.Lock lets the loop serve the others meanwhile.
    write_turn = asyncio.Lock()

    @event.listens_for(SyncSession, "before_flush")
    def wait_for_write_turn(session, _flush_context, _instances) -> None:
        if not session.info.get("writing"):
            # A listener is a plain function, but it runs inside the greenlet
            # of an awaited AsyncSession call: await_ waits there, as
            # SQLAlchemy itself awaits the driver.
            await_(write_turn.acquire())
            session.info["writing"] = True

    @event.listens_for(SyncSession, "after_transaction_end")
    def end_write_turn(session, transaction) -> None:
        # A flush runs in a subtransaction; only the outermost one ends the write.
        if transaction.parent is None and session.info.pop("writing", False):
            write_turn.release()

    # --8<-- [end:write_turn]


class Base(DeclarativeBase):
    # Every constraint and index gets a predictable name, on every database:
    # a migration can only drop or change a constraint it can name, and
    # SQLite's batch mode recreates tables with their constraints by name.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_name)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    # Ids are 64-bit on every database (BIGINT on PostgreSQL); SQLite's
    # INTEGER is already 64-bit and must stay INTEGER to autoincrement.
    type_annotation_map = {int: BigInteger().with_variant(Integer(), "sqlite")}


async def get_db() -> AsyncIterator[AsyncSession]:
    """One session per request, closed when the response has been sent.

    A session belongs to one request: never share one between tasks that run
    at the same time (asyncio.gather), each needs its own.
    """
    async with SessionLocal() as db:
        yield db


SessionDep = Annotated[AsyncSession, Depends(get_db)]


ALEMBIC_INI = Path(__file__).with_name("alembic.ini")
UPGRADE_COMMAND = f"alembic -c steps/{Path(__file__).parent.name}/alembic.ini upgrade head"


class DatabaseNotMigratedError(RuntimeError):
    """The database's schema is not the one the newest migration makes."""


def current_heads(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


async def check_database_is_migrated() -> None:
    """Refuse to run against a database whose schema is behind the code's."""
    heads = set(ScriptDirectory.from_config(Config(ALEMBIC_INI)).get_heads())
    async with engine.connect() as connection:
        # Alembic's API is sync: run_sync hands it a sync view of the connection.
        current = await connection.run_sync(current_heads)
    if current != heads:
        raise DatabaseNotMigratedError(
            f"The database {engine.url} is at revision {sorted(current) or 'none'}, "
            f"this code needs {sorted(heads)}. Migrate it first: {UPGRADE_COMMAND}"
        )
