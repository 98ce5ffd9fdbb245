"""A step's app as the benchmark serves it: `uvicorn shared.bench.served:app`.

The step itself is imported unchanged. This wrapper only
- counts the SQL statements the step's engine sends, and answers the count
  and the CPU time the server process has used at COUNTERS_PATH (a path no
  step has), so the driver can compute statements and server CPU per request
  without the step's API changing;
- closes the step's pooled connections at DISPOSE_PATH;
- with BENCH_PROFILE=1, runs the CPU profiler (profile.py) and answers its
  breakdown at PROFILE_PATH;
- for the A/B experiments, swaps one choice the step made, named by an
  environment variable (see VARIANTS), so that both sides of the comparison
  run the same step code; a few variants (PROCESS_VARIANTS) change the
  process instead, and apply to the ceiling too.

Environment: BENCH_STEP (the step's package, e.g. `step02_sqlite`; empty for
the ceiling, ceiling.py, served through the same wrapper so that both pay for
it; `hops` for the hops experiment's app, hops.py) and, optionally,
BENCH_VARIANT (a key of LOADERS, VARIANTS or PROCESS_VARIANTS).
"""

from __future__ import annotations

import gc
import importlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from types import ModuleType

from anyio import to_thread
from sqlalchemy import Engine, QueuePool, event, orm
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import ORMExecuteState, lazyload
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.bench import COUNTERS_PATH, DISPOSE_PATH, PROFILE_PATH, ceiling, hops
from shared.bench.profile import CpuProfiler, supported

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
    """The step's ASGI app, plus the paths that report the counters and the profile."""

    def __init__(
        self,
        app: ASGIApp,
        counter: StatementCounter | None,
        profiler: CpuProfiler | None,
        engine: Engine | AsyncEngine | None = None,
    ) -> None:
        self.app = app
        self.counter = counter
        self.profiler = profiler
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == COUNTERS_PATH:
            counters = {
                "statements": self.counter.count if self.counter else 0,
                # Every thread of this process: the event loop and the thread pool.
                "cpu_seconds": time.process_time(),
            }
            await JSONResponse(counters)(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"] == PROFILE_PATH:
            profile = self.profiler.take() if self.profiler else None
            await JSONResponse({"profile": profile})(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"] == DISPOSE_PATH:
            await self._dispose()
            await JSONResponse({"disposed": self.engine is not None})(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _dispose(self) -> None:
        if isinstance(self.engine, AsyncEngine):
            await self.engine.dispose()
        elif self.engine is not None:
            await to_thread.run_sync(self.engine.dispose)


def sync_engine(engine: Engine | AsyncEngine) -> Engine:
    """The engine that events are heard on (an async step's is inside its AsyncEngine)."""
    return engine.sync_engine if isinstance(engine, AsyncEngine) else engine


def replace_sqlite_setup(engine: Engine, database: ModuleType, pragmas: tuple[str, ...]) -> None:
    """Remove the step's `connect` listeners and set these pragmas instead.

    Listeners cannot simply be added after the step's: switching a database
    out of WAL needs it to have no other connection, so two listeners that
    disagree on the journal mode would flip it back and forth.
    """
    _remove_listeners(engine, "connect", database)

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


def _remove_listeners(target: object, event_name: str, module: ModuleType) -> None:
    """Remove the listeners a step's module put on `target` for `event_name`."""
    for value in vars(module).values():
        if callable(value) and event.contains(target, event_name, value):
            event.remove(target, event_name, value)


def resize_pool(database: ModuleType, size: int, overflow: int) -> None:
    """Give the step's engine a pool of this size, with the step's own connect listeners."""
    old = database.engine.pool
    database.engine.pool = QueuePool(
        old._creator,
        pool_size=size,
        max_overflow=overflow,
        recycle=old._recycle,
        reset_on_return=old._reset_on_return,
        _dispatch=old.dispatch,
        dialect=old._dialect,
    )


def polling_writers(database: ModuleType) -> None:
    """Writers wait for SQLite's lock by polling (busy_timeout) alone, as before the write queue."""
    _remove_listeners(database.SessionLocal, "before_flush", database)
    _remove_listeners(database.SessionLocal, "after_transaction_end", database)


def one_connection(database: ModuleType) -> None:
    """Every request waits for the pool's one connection: writers queue, and readers too."""
    polling_writers(database)
    resize_pool(database, 1, 0)


def default_pool(database: ModuleType) -> None:
    """SQLAlchemy's default pool: 5 connections kept, 10 more opened and closed on demand."""
    resize_pool(database, 5, 10)


EAGER_LOADERS = {"selectinload", "joinedload", "subqueryload"}


@contextmanager
def loaders_replaced(replacement: Callable[..., object]) -> Iterator[None]:
    """While the step is imported, every eager loader option it imports is `replacement`.

    Replaced in `sqlalchemy.orm` before the import, not in the step's modules
    after it: a statement the step builds at import (a module-level `select`
    with its loader options) is then built with the replacement too.
    """
    originals = {name: getattr(orm, name) for name in EAGER_LOADERS}
    for name in EAGER_LOADERS:
        setattr(orm, name, replacement)
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(orm, name, original)


def load_posts_lazily(database: ModuleType) -> None:
    """Load `User.posts` with the ORM's default lazy loading, whatever the step chose.

    Both places a step can choose eager loading are undone: a loader option
    its modules import (replaced by `lazyload` while it is imported, see
    LOADERS) and the relationship's own `lazy=` (overridden on every query of
    users).
    """
    package = database.__name__.rpartition(".")[0]
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


# The variants whose step is imported with its eager loaders replaced
# ("selectin-posts": step 4's first version, the posts in a second query).
LOADERS: dict[str, Callable[..., object]] = {
    "lazy-posts": _lazy_instead,
    "selectin-posts": orm.selectinload,
}

# What a variant changes in the step once it is imported.
VARIANTS: dict[str, Callable[[ModuleType], None]] = {
    **{name: _sqlite_variant(name) for name in SQLITE_SETTINGS},
    "lazy-posts": load_posts_lazily,
    "polling-writers": polling_writers,
    "one-connection": one_connection,
    "default-pool": default_pool,
}


def python_gc() -> None:
    """The garbage collector at the thresholds a new interpreter starts with, not the
    plumbing's (700, 10, 10 on CPython 3.11 and 3.12)."""
    fresh = subprocess.run(
        [sys.executable, "-c", "import gc; print(*gc.get_threshold())"],
        capture_output=True,
        text=True,
        check=True,
    )
    gc.set_threshold(*map(int, fresh.stdout.split()))


# What a variant changes in the process, whatever app it serves (the ceiling
# too), once the app is imported.
PROCESS_VARIANTS: dict[str, Callable[[], None]] = {"python-gc": python_gc}


def build(package: str, variant: str = "", profile: bool = False) -> CountingApp:
    known = LOADERS.keys() | VARIANTS.keys() | PROCESS_VARIANTS.keys()
    if variant and variant not in known:
        raise ValueError(
            f"no variant {variant!r}: see LOADERS, VARIANTS and PROCESS_VARIANTS in {__name__}"
        )
    profiler = CpuProfiler().start() if profile and supported() else None
    constant_apps = {"": ceiling.app, "hops": hops.app}
    if package in constant_apps:
        app = CountingApp(constant_apps[package], None, profiler)
    else:
        with loaders_replaced(LOADERS[variant]) if variant in LOADERS else nullcontext():
            main = importlib.import_module(f"steps.{package}.main")
        database = importlib.import_module(f"steps.{package}.database")
        if variant in VARIANTS:
            VARIANTS[variant](database)
        counter = StatementCounter(sync_engine(database.engine))
        app = CountingApp(main.app, counter, profiler, database.engine)
    if variant in PROCESS_VARIANTS:
        PROCESS_VARIANTS[variant]()
    return app


app = build(
    os.environ.get("BENCH_STEP", ""),
    os.environ.get("BENCH_VARIANT", ""),
    profile=os.environ.get("BENCH_PROFILE") == "1",
)
