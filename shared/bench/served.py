"""A step's app as the benchmark serves it: `uvicorn shared.bench.served:app`.

The step itself is imported unchanged. This wrapper only
- counts the SQL statements the step's engine sends, and answers the count
  at STATEMENTS_PATH (a path no step has), so the driver can compute
  statements per request without the step's API changing;
- for the A/B experiments, swaps one choice the step made, named by an
  environment variable (see VARIANTS), so that both sides of the comparison
  run the same step code.

Environment: BENCH_STEP (the step's package, e.g. `step02_sqlite`) and,
optionally, BENCH_VARIANT (a key of VARIANTS).
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections.abc import Callable
from types import ModuleType

from sqlalchemy import Engine, event
from sqlalchemy.orm import ORMExecuteState, lazyload
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.bench import STATEMENTS_PATH

# SQLite's own defaults are journal_mode=DELETE and synchronous=FULL. Every
# variant keeps the busy timeout and the foreign keys of the steps, so that
# only the journal settings differ.
SQLITE_SETTINGS = {
    "journal-delete": ("journal_mode=DELETE", "synchronous=FULL"),
    "wal-full": ("journal_mode=WAL", "synchronous=FULL"),
}
COMMON_SQLITE_SETTINGS = ("busy_timeout=30000", "foreign_keys=ON")


class StatementCounter:
    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self._lock = threading.Lock()  # endpoints run in FastAPI's thread pool
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_args: object) -> None:
        with self._lock:
            self.count += 1


class CountingApp:
    """The step's ASGI app, plus one path that reports the statement count."""

    def __init__(self, app: ASGIApp, counter: StatementCounter) -> None:
        self.app = app
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == STATEMENTS_PATH:
            response = JSONResponse({"statements": self.counter.count})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def replace_sqlite_setup(engine: Engine, database: ModuleType, pragmas: tuple[str, ...]) -> None:
    """Remove the step's `connect` listeners and set these pragmas instead.

    Listeners cannot simply be added after the step's: switching a database
    out of WAL needs it to have no other connection, so two listeners that
    disagree on the journal mode would flip it back and forth.
    """
    for value in vars(database).values():
        if callable(value) and event.contains(engine, "connect", value):
            event.remove(engine, "connect", value)

    @event.listens_for(engine, "connect")
    def configure_sqlite(dbapi_connection, _connection_record) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()


def _sqlite_variant(name: str) -> Callable[[ModuleType], None]:
    def apply(database: ModuleType) -> None:
        replace_sqlite_setup(
            database.engine, database, SQLITE_SETTINGS[name] + COMMON_SQLITE_SETTINGS
        )

    return apply


EAGER_LOADERS = {"selectinload", "joinedload", "subqueryload"}


def load_posts_lazily(database: ModuleType) -> None:
    """Load `User.posts` with the ORM's default lazy loading, whatever the step chose.

    Both places a step can choose eager loading are undone: a loader option
    its modules import (replaced by `lazyload`) and the relationship's own
    `lazy=` (overridden on every query of users).
    """
    package = database.__name__.rpartition(".")[0]
    for name, module in list(sys.modules.items()):
        if name.startswith(package + ".") and module is not None:
            for loader in EAGER_LOADERS & set(vars(module)):
                setattr(module, loader, _lazy_instead)
    user = importlib.import_module(f"{package}.models").User

    @event.listens_for(database.SessionLocal, "do_orm_execute")
    def load_lazily(state: ORMExecuteState) -> None:
        if (
            state.is_select
            and not state.is_relationship_load
            and user.__mapper__ in state.all_mappers
        ):
            state.statement = state.statement.options(lazyload(user.posts))


def _lazy_instead(attribute: object, *_more: object, **_options: object) -> object:
    return lazyload(attribute)


VARIANTS: dict[str, Callable[[ModuleType], None]] = {
    **{name: _sqlite_variant(name) for name in SQLITE_SETTINGS},
    "lazy-posts": load_posts_lazily,
}


def build(package: str, variant: str = "") -> CountingApp:
    main = importlib.import_module(f"steps.{package}.main")
    database = importlib.import_module(f"steps.{package}.database")
    if variant:
        VARIANTS[variant](database)
    return CountingApp(main.app, StatementCounter(database.engine))


app = build(os.environ["BENCH_STEP"], os.environ.get("BENCH_VARIANT", ""))
