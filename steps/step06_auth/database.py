"""The database connection: engine, sessions, the declarative base."""

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import Depends
from sqlalchemy import BigInteger, Integer, MetaData, create_engine, event, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from .settings import settings

DATABASE_URL = settings.database_url

url = make_url(DATABASE_URL)
IS_SQLITE = url.get_backend_name() == "sqlite"

engine = create_engine(
    url,
    # FastAPI runs `def` endpoints in a thread pool, so a pooled SQLite
    # connection is used by several threads over its life (one at a time).
    connect_args={"check_same_thread": False} if IS_SQLITE else {},
    # A connection kept for each of the 40 threads FastAPI runs `def`
    # endpoints on (AnyIO's default). With SQLAlchemy's default of 5, the
    # requests past the fifth open a connection and close it again, each time.
    pool_size=40,
)
SessionLocal = sessionmaker(bind=engine)

if IS_SQLITE:

    @event.listens_for(engine, "connect")
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

    # SQLite lets one writer in at a time, and busy_timeout makes the others
    # poll for the lock with sleeps that grow to 100 ms: under load an unlucky
    # writer waits a second while later ones go first. The writers of this
    # process queue on a lock instead, from their first write to the end of
    # their transaction (busy_timeout still covers other processes).
    write_turn = threading.Lock()

    @event.listens_for(SessionLocal, "before_flush")
    def wait_for_write_turn(session, _flush_context, _instances) -> None:
        if not session.info.get("writing"):
            write_turn.acquire()
            session.info["writing"] = True

    @event.listens_for(SessionLocal, "after_transaction_end")
    def end_write_turn(session, transaction) -> None:
        # A flush runs in a subtransaction; only the outermost one ends the write.
        if transaction.parent is None and session.info.pop("writing", False):
            write_turn.release()


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


def get_db() -> Iterator[Session]:
    """One session per request, closed when the response has been sent."""
    with SessionLocal() as db:
        yield db


SessionDep = Annotated[Session, Depends(get_db)]


ALEMBIC_INI = Path(__file__).with_name("alembic.ini")
UPGRADE_COMMAND = f"alembic -c steps/{Path(__file__).parent.name}/alembic.ini upgrade head"


class DatabaseNotMigratedError(RuntimeError):
    """The database's schema is not the one the newest migration makes."""


def check_database_is_migrated() -> None:
    """Refuse to run against a database whose schema is behind the code's."""
    heads = set(ScriptDirectory.from_config(Config(ALEMBIC_INI)).get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current != heads:
        raise DatabaseNotMigratedError(
            f"The database {engine.url} is at revision {sorted(current) or 'none'}, "
            f"this code needs {sorted(heads)}. Migrate it first: {UPGRADE_COMMAND}"
        )
