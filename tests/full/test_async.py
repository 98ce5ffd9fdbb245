"""Step 7 on: what async changes, where HTTP alone cannot show it.

The contract tests already judge an async step like any other. These look at
what async adds: the URLs of step 6 still work, relationships never load
behind the code's back, Argon2 runs off the event loop (and a real server
keeps answering while logins hash), SQLite's writers queue without stopping
the loop, and step 6's database is already at this step's head.
"""

from __future__ import annotations

import asyncio
import filecmp
import gc
import inspect
import statistics
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import event, func, select
from sqlalchemy.exc import InvalidRequestError, MissingGreenlet, StatementError
from sqlalchemy.orm import lazyload

from shared import catalog
from shared.catalog import Step
from shared.server import UvicornServer
from tests.support import apps, auth, migrations
from tests.support.auth import PASSWORD, sign_up

pytestmark = [
    pytest.mark.requires("async"),
    pytest.mark.internals,
    pytest.mark.taught("why-it-is-built-this-way"),
]


# --- the URLs of step 6 ------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("sqlite:///{tmp}/plain.db", "sqlite+aiosqlite"),
        ("sqlite+pysqlite:///{tmp}/named.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///{tmp}/async.db", "sqlite+aiosqlite"),
        ("postgresql+psycopg://nobody@127.0.0.1:1/nothing", "postgresql+psycopg"),
        ("postgresql://nobody@127.0.0.1:1/nothing", "postgresql"),
    ],
)
def test_the_database_urls_of_step_6_get_an_async_driver(
    step: Step, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, given: str, driver: str
) -> None:
    # Nothing connects at import: no server or file is needed to check this.
    monkeypatch.setenv("DATABASE_URL", given.format(tmp=tmp_path))
    apps.forget(step)
    database = apps.import_module(step, "database")
    try:
        assert database.engine.url.drivername == driver
        assert database.engine.dialect.is_async
        assert not list(tmp_path.iterdir())
    finally:
        apps.forget(step)


# --- no lazy loading ------------------------------------------------------------------


def test_no_relationship_loads_lazily(step: Step, app: FastAPI) -> None:
    models = apps.module_of(step, "models")
    relationships = [
        (mapper.class_.__name__, relationship.key, relationship.lazy)
        for mapper in models.Base.registry.mappers
        for relationship in mapper.relationships
    ]
    assert relationships
    assert [r for r in relationships if r[2] != "raise"] == []


@pytest.fixture
def ada_with_a_post(client: TestClient) -> dict:
    ada = sign_up(client, "ada")
    response = client.post(f"/users/{ada['id']}/posts", json={"title": "Hi", "content": "Text"})
    assert response.status_code == 201, response.text
    return ada


def test_a_forgotten_load_fails_in_the_tests_not_in_production(
    step: Step, client: TestClient, ada_with_a_post: dict
) -> None:
    """Reading `user.posts` without asking the query for them raises at once.

    It raises whether or not the user has posts, on every run: the first test
    that reaches the forgetful code fails, and says which attribute it was.
    """
    database, crud = apps.module_of(step, "database"), apps.module_of(step, "crud")
    schemas = apps.module_of(step, "schemas")
    [post_id] = [post["id"] for post in client.get("/posts").json()]

    async def forget_then_remember() -> list[str]:
        async with database.SessionLocal() as db:
            user = await crud.get_user(db, ada_with_a_post["id"])
            with pytest.raises(InvalidRequestError, match=r"User\.posts.*lazy='raise'"):
                _ = user.posts
            # What a route would do with it: build the response.
            with pytest.raises(ValidationError, match=r"User\.posts.*lazy='raise'"):
                schemas.UserWithPosts.model_validate(user)
            post = await crud.get_post(db, post_id)
            with pytest.raises(InvalidRequestError, match=r"Post\.author.*lazy='raise'"):
                _ = post.author
        async with database.SessionLocal() as db:
            user = await crud.get_user(db, ada_with_a_post["id"], with_posts=True)
            return [post.title for post in schemas.UserWithPosts.model_validate(user).posts]

    assert asyncio.run(forget_then_remember()) == ["Hi"]


def test_without_lazy_raise_asyncio_fails_with_missing_greenlet(
    step: Step, client: TestClient, ada_with_a_post: dict
) -> None:
    """What lazy="raise" replaces: the default lazy load is a query asyncio cannot await."""
    database, models = apps.module_of(step, "database"), apps.module_of(step, "models")

    async def load_lazily() -> None:
        async with database.SessionLocal() as db:
            options = [lazyload(models.User.posts)]  # the default strategy, back for this query
            user = await db.get(models.User, ada_with_a_post["id"], options=options)
            # (Raised as is, or wrapped with the SQL it could not run.)
            with pytest.raises((MissingGreenlet, StatementError), match="greenlet_spawn"):
                _ = user.posts

    with warnings.catch_warnings():
        # aiosqlite hands SQLAlchemy a wrapper around the coroutine that makes
        # a cursor; refused here, that coroutine is never awaited. Collect it
        # now, where its "never awaited" warning is expected.
        warnings.simplefilter("ignore", RuntimeWarning)
        asyncio.run(load_lazily())
        gc.collect()


# --- nothing that blocks runs on the event loop -----------------------------------


def step_routes(step: Step, app: FastAPI) -> Iterator[APIRoute]:
    """The app's own routes and those of every APIRouter among the step's modules."""
    routers = [app.router] + [
        module.router
        for module in apps.modules(step).values()
        if isinstance(getattr(module, "router", None), APIRouter)
    ]
    for router in routers:
        yield from (route for route in router.routes if isinstance(route, APIRoute))


def dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from dependants(sub)


def test_every_endpoint_and_dependency_of_the_step_is_async(step: Step, app: FastAPI) -> None:
    """A `def` endpoint or dependency would hop to the thread pool and back, for nothing."""
    own = [
        dependant.call
        for route in step_routes(step, app)
        for dependant in dependants(route.dependant)
        if getattr(dependant.call, "__module__", "").startswith(step.import_root)
    ]
    assert len(own) > 20
    sync = [
        call.__qualname__
        for call in own
        if not (inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call))
    ]
    assert sync == []


class Spy:
    """The step's password hasher, noting for each call whether an event loop runs there."""

    def __init__(self, real: object) -> None:
        self.real = real
        self.calls: list[tuple[str, bool]] = []

    def __getattr__(self, name: str):
        method = getattr(self.real, name)

        def spied(*args, **kwargs):
            try:
                asyncio.get_running_loop()
                on_a_loop = True
            except RuntimeError:
                on_a_loop = False
            self.calls.append((name, on_a_loop))
            return method(*args, **kwargs)

        return spied


def test_argon2_never_runs_on_the_event_loop(
    step: Step, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    security = apps.module_of(step, "security")
    spy = Spy(security.password_hash)
    monkeypatch.setattr(security, "password_hash", spy)
    security.dummy_hash.cache_clear()  # so that making it is seen too

    ada = sign_up(client, "ada")  # hash
    headers = auth.login_headers(client, "ada")  # verify_and_update
    for username in ("ada", "nobody"):  # a wrong password; an unknown user (the dummy hash)
        response = client.post("/auth/token", data={"username": username, "password": "wrong!!!"})
        assert response.status_code == 401
    body = {"password": "a new password", "current_password": PASSWORD}  # verify, then hash
    assert client.patch(f"/users/{ada['id']}", json=body, headers=headers).status_code == 200

    names = {name for name, _ in spy.calls}
    assert {"hash", "verify", "verify_and_update"} <= names
    assert [call for call in spy.calls if call[1]] == []
    security.dummy_hash.cache_clear()  # not a hash made by the spy for later tests


LOGINS = 8
READS_AT_LEAST = 5


@pytest.mark.real_hashing  # what is shown needs hashes that take the step's real time
@pytest.mark.backends("sqlite")
def test_reads_are_answered_while_logins_hash(step: Step, server: UvicornServer) -> None:
    """Through a real uvicorn: reads keep being answered while eight logins hash.

    Were Argon2 run on the event loop, each login would hold the loop for a
    whole hash: a read sent meanwhile would wait for every hash queued before
    it, and be answered about when the last login is (measured so: the first
    read then took about as long as all the logins, and none other was
    answered before the logins were).
    """
    with httpx2.Client(base_url=server.url, timeout=60) as client:
        sign_up(client, "ada")

    def log_in(_: int) -> tuple[float, float]:
        with httpx2.Client(base_url=server.url, timeout=60) as client:
            begun = time.perf_counter()
            auth.log_in(client, "ada")
            return begun, time.perf_counter()

    reads: list[tuple[float, float]] = []
    with ThreadPoolExecutor(max_workers=LOGINS) as pool:
        logins = [pool.submit(log_in, n) for n in range(LOGINS)]
        with httpx2.Client(base_url=server.url, timeout=60) as client:
            time.sleep(0.05)  # the logins are hashing now
            while not all(login.done() for login in logins) or len(reads) < READS_AT_LEAST:
                begun = time.perf_counter()
                assert client.get("/tasks").status_code == 200
                reads.append((begun, time.perf_counter()))
        login_times = [login.result() for login in logins]

    last_login = max(end for _, end in login_times)
    during = [end - begun for begun, end in reads if end < last_login]
    login_median = statistics.median(end - begun for begun, end in login_times)
    numbers = (
        f"{LOGINS} logins at once: {login_median * 1000:.0f} ms each (median); "
        f"{len(during)} reads answered meanwhile, slowest {max(during, default=0) * 1000:.0f} ms, "
        f"median {statistics.median(during or [0]) * 1000:.0f} ms"
    )
    assert len(during) >= READS_AT_LEAST, numbers
    assert max(during) < login_median, numbers
    assert "Traceback" not in server.log()


# --- SQLite's writers take turns on an asyncio.Lock --------------------------------


@pytest.mark.backends("sqlite")
def test_writers_take_turns_and_the_loop_goes_on(
    step: Step, backend: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second writer waits for the first one's commit; meanwhile, reads are answered.

    The same queue as step 6's (see test_database_setup.py), on an
    asyncio.Lock: the waiting writer is a task that yields, not a thread that
    blocks, so the event loop serves everyone else while it waits.
    """
    apps.load(step, database_url, monkeypatch)  # modules (and a lock) of this test's own
    database, task = apps.module_of(step, "database"), apps.module_of(step, "models").Task
    second_writers: set[asyncio.Task] = set()
    sent_by_second: list[str] = []

    def record(_connection, _cursor, statement: str, *_args: object) -> None:
        if asyncio.current_task() in second_writers:
            sent_by_second.append(statement.split()[0].upper())

    async def second_writer() -> None:
        async with database.SessionLocal() as second:
            second.add(task(title="second"))
            await second.commit()

    async def count_tasks() -> int:
        async with database.SessionLocal() as reader:
            return await reader.scalar(select(func.count()).select_from(task))

    async def scenario() -> list[str]:
        async with database.SessionLocal() as first:
            first.add(task(title="first"))
            await first.flush()
            first.add(task(title="first, again"))
            await first.flush()  # its own turn: a second flush does not wait for itself
            writer = asyncio.create_task(second_writer())
            second_writers.add(writer)
            await asyncio.sleep(0.3)
            assert not writer.done()
            assert "INSERT" not in sent_by_second
            assert await count_tasks() == 0  # a read goes on meanwhile (nothing committed yet)
            await first.commit()
        await asyncio.wait_for(writer, timeout=30)
        assert "INSERT" in sent_by_second
        async with database.SessionLocal() as reader:
            return list(await reader.scalars(select(task.title).order_by(task.id)))

    async def run() -> list[str]:
        try:
            return await scenario()
        finally:
            await database.engine.dispose()

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        assert asyncio.run(run()) == ["first", "first, again", "second"]
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)
        apps.forget(step)


# --- migrations: step 6's revisions, step 6's databases --------------------------------


def versions(step: Step) -> Path:
    return step.path / "migrations" / "versions"


def test_the_revisions_are_the_step_befores(step: Step) -> None:
    before = catalog.previous(step)
    assert before is not None
    names = sorted(path.name for path in versions(before).glob("*.py"))
    assert names
    _, different, missing = filecmp.cmpfiles(versions(before), versions(step), names, shallow=False)
    assert (different, missing) == ([], [])


def test_a_database_of_the_step_before_is_already_at_this_steps_head(
    step: Step, backend: str, empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = empty_database_url
    before = catalog.previous(step)
    assert before is not None
    migrations.upgrade(before, url)
    with TestClient(apps.load(before, url, monkeypatch)) as client:
        ada = sign_up(client, "ada")
        headers = auth.login_headers(client, "ada")
        post = {"title": "Hi", "content": "Text"}
        assert (
            client.post(f"/users/{ada['id']}/posts", json=post, headers=headers).status_code == 201
        )
        assert client.post("/tasks", json={"title": "Buy milk"}).status_code == 201
        made = {path: client.get(path).json() for path in ("/users/1", "/posts", "/tasks")}

    # What `alembic current` would say: (head). Read in-process; the command
    # itself is tested in test_migration_commands.py.
    assert migrations.revision_of(url) == migrations.head_of(step)
    with TestClient(apps.load(step, url, monkeypatch)) as client:
        assert {path: client.get(path).json() for path in made} == made
        # The hash step 6 made checks the same password here.
        headers = auth.login_headers(client, "ada")
        assert client.get("/users/me", headers=headers).json()["username"] == "ada"


def test_a_database_of_this_step_still_serves_the_step_before(
    step: Step, backend: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Async is how the app talks to the database, not what it stores: the way back is open."""
    with TestClient(apps.load(step, database_url, monkeypatch)) as client:
        sign_up(client, "ada")
    before = catalog.previous(step)
    assert before is not None
    with TestClient(apps.load(before, database_url, monkeypatch)) as client:
        auth.log_in(client, "ada")
    apps.forget(before)
    apps.forget(step)
