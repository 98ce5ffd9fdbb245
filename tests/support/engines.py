"""A step's engine and sessions as the tests reach them: sync (steps 2-6) or async (step 7 on).

Events are heard by sync objects only: an AsyncEngine's `sync_engine`, an
AsyncSession's `sync_session` (whose class an async_sessionmaker may name).
The tests that look inside a step go through these helpers, so that they
judge a sync and an async step alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Session

from shared.catalog import Step
from tests.support import apps


def sync_engine(engine: Engine | AsyncEngine) -> Engine:
    """The engine that hears events: an AsyncEngine's sync_engine, or the engine itself."""
    return engine.sync_engine if isinstance(engine, AsyncEngine) else engine


def session_events_target(session_factory: Any) -> Any:
    """Where the sessions a factory makes hear events.

    A sessionmaker itself; for an async_sessionmaker, the class of the sync
    session inside each of its AsyncSessions.
    """
    if isinstance(session_factory, async_sessionmaker):
        return session_factory.kw.get("sync_session_class", Session)
    return session_factory


@contextmanager
def plain_session(session_factory: Any) -> Iterator[Session]:
    """A new session of the factory, as the sync Session that hears its events (never used)."""
    session = session_factory()
    sync = getattr(session, "sync_session", session)
    try:
        yield sync
    finally:
        sync.close()  # it never connected: nothing to await


def scalar(engine: Engine | AsyncEngine, statement: str) -> Any:
    """The first value `statement` returns, on a connection from the engine's pool."""
    if isinstance(engine, AsyncEngine):
        # In a thread of its own: asyncio.run refuses to start where a loop
        # already runs, as it may in the test's thread.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, _async_scalar(engine, statement)).result()
    with engine.connect() as connection:
        return connection.exec_driver_sql(statement).scalar()


async def _async_scalar(engine: AsyncEngine, statement: str) -> Any:
    async with engine.connect() as connection:
        return (await connection.exec_driver_sql(statement)).scalar()


@contextmanager
def counting_statements(step: Step) -> Iterator[list[str]]:
    """Every SQL statement the step's engine sends while the block runs."""
    engine = sync_engine(apps.module_of(step, "database").engine)
    statements: list[str] = []

    def record(_conn, _cursor, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
