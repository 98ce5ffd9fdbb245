"""One suite for every step.

A contract test asks for the `client` fixture and states the features it
needs with `@pytest.mark.requires("users")`; it then runs once per step that
offers them (per `shared/catalog.py`) and, for persistent steps, once per
database backend: SQLite always, PostgreSQL when TEST_DATABASE_URL is set.

Each test starts from an empty database (a file in a temporary folder, or a
PostgreSQL database) and the step's app bound to it through DATABASE_URL,
exactly as a learner's shell would configure it. Each worker imports a step's
app once per backend and empties its database before every test (see
tests/support/databases.py): the same guarantees as a new database and a new
import per test, in a fraction of the time.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from shared import catalog
from shared.catalog import ROOT, Step
from shared.server import UvicornServer
from tests.support import (
    apps,
    auth,
    coverage_workers,
    databases,
    exchange,
    greenlets,
    once,
    postgres,
)
from tests.support.inprocess import InProcessClient

BACKENDS = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--step",
        action="append",
        type=int,
        default=[],
        help="run only the tests of this step (repeatable)",
    )
    parser.addoption(
        "--app",
        help="judge this app (module:app) against the contract of the one --step given",
    )
    parser.addoption(
        "--app-dir",
        type=Path,
        help="the folder --app is imported from (default: the repository root)",
    )
    parser.addoption(
        "--backend",
        action="append",
        choices=BACKENDS,
        default=[],
        help="run the database tests on this backend only (repeatable; default: all)",
    )
    parser.addoption(
        "--update-snapshots",
        action="store_true",
        help="rewrite tests/snapshots/ from what the steps serve now",
    )


def selected_steps(config: pytest.Config) -> list[Step]:
    wanted = config.getoption("--step")
    for number in wanted:
        catalog.get(number)  # fails early on a step that does not exist
    app = config.getoption("--app")
    if app:
        # Another app, judged against one step's contract (make check).
        if len(wanted) != 1:
            raise pytest.UsageError("--app needs exactly one --step: the contract to judge it by")
        return [catalog.get(wanted[0]).judging(app, config.getoption("--app-dir"))]
    return [step for step in catalog.STEPS if not wanted or step.number in wanted]


def backends_for(step: Step, marker: pytest.Mark | None, chosen: list[str]) -> tuple[str, ...]:
    if not step.offers("persistent"):
        return ("memory",)
    allowed = marker.args if marker else BACKENDS
    return tuple(b for b in BACKENDS if b in allowed and (not chosen or b in chosen))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "step" not in metafunc.fixturenames:
        return
    requires = metafunc.definition.get_closest_marker("requires")
    features = requires.args if requires else ()
    unknown = set(features) - catalog.FEATURES
    if unknown:  # a misspelt feature would match no step, and the test would silently not run
        raise pytest.UsageError(
            f"{metafunc.definition.nodeid}: no step offers {sorted(unknown)}; "
            f"the features are {sorted(catalog.FEATURES)}"
        )
    steps = [s for s in selected_steps(metafunc.config) if s.offers(*features)]

    if "backend" not in metafunc.fixturenames:
        metafunc.parametrize("step", steps, ids=[f"step{s.number:02d}" for s in steps])
        return
    only = metafunc.definition.get_closest_marker("backends")
    chosen = metafunc.config.getoption("--backend")
    pairs = [(s, backend) for s in steps for backend in backends_for(s, only, chosen)]
    metafunc.parametrize(
        ("step", "backend"),
        pairs,
        ids=[f"step{s.number:02d}-{backend}" for s, backend in pairs],
    )


# Fixtures that build or measure the whole project (the docs site, the
# benchmark): their tests are about no one step, and a run narrowed to one
# step (`make test STEP=2`) leaves them out.
WHOLE_PROJECT_FIXTURES = frozenset({"site", "offline_site", "served_site", "results"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With --step, run only the tests of those steps: the ones parametrized with them.

    With --app too, only the contract: not the tests about the catalog step's
    own modules and files (marked `internals`).
    """
    once.run_sharers_first(items)  # the same order in every pytest-xdist worker
    if not config.getoption("--step"):
        return
    judging = bool(config.getoption("--app"))
    kept, left_out = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        # (A test whose features no selected step offers has an empty parameter set.)
        about_a_step = callspec is not None and isinstance(callspec.params.get("step"), Step)
        whole_project = WHOLE_PROJECT_FIXTURES & set(getattr(item, "fixturenames", ()))
        internal = judging and item.get_closest_marker("internals") is not None
        (kept if about_a_step and not whole_project and not internal else left_out).append(item)
    config.hook.pytest_deselected(items=left_out)
    items[:] = kept


def pytest_collection_finish(session: pytest.Session) -> None:
    """What was imported to collect (FastAPI, SQLAlchemy, the tests: about 120,000
    objects) lives to the end of the run: the garbage collector stops walking it.

    Each full collection otherwise walks every one of them again. Measured on step
    8's tier lesson in one process (on a loaded machine): its 4 full collections
    took 5.8 s before, 2.9 s after; pytest's 2 more at the end (its check for
    unraisable exceptions) walk what is left.
    """
    gc.freeze()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """The process ends without walking its heap again.

    By now pytest has looked for what a test left unclosed (its own full
    collections, just before). Python's teardown then collects every object
    the run made, several times over: 0.9-2.7 s at the end of a step-8 lesson
    run in one process (on a loaded machine), which the judge's workers and
    the run that waits for them sat through. Frozen, the objects are freed as
    their references go, and the teardown takes 0.1-0.2 s.
    """
    gc.freeze()


def refuse_a_package_the_repository_shadows(app: str | None, app_dir: Path) -> None:
    """An app judged from another folder must not share its top package's name with this
    repository's: the servers, `python -m` and `alembic` commands the tests start from the
    repository root would import the repository's package instead, and judge the wrong code."""
    top = (app or "").partition(":")[0].partition(".")[0]
    if not top or app_dir.resolve() == ROOT.resolve():
        return
    if (ROOT / top).is_dir() or (ROOT / f"{top}.py").is_file():
        raise pytest.UsageError(
            f"the app's package {top!r} is also a folder of this repository ({ROOT / top}): "
            "the commands the tests start from here would import that one instead. "
            f"Judge it from a copy of its folder under another name, or move {ROOT / top} aside."
        )


def an_event_loop_runs_here() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """A test leaves the process's logging as it found it.

    Importing a step that configures logging (step 8), or running a step's
    migrations in-process (env.py's fileConfig), gives the root logger a
    handler that writes to the sys.stderr of that moment: in a test that
    captures output (capsys, capfd), a stream closed when the test ends.
    Every later log line in the worker would then fail and print a
    traceback in the test that logged it, whatever that test is about.
    """
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        return (yield)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """A test module must not leave an asyncio event loop running in this thread.

    Every later asyncio.run() in the worker would fail (step 7's tests call
    it), in whatever module the scheduler hands it next: the failure would
    name the wrong test. This names the module that left the loop running.
    """
    yield
    if (nextitem is None or nextitem.path != item.path) and an_event_loop_runs_here():
        raise RuntimeError(f"{item.path.name} left an asyncio event loop running in this thread")


# The garbage collector's thresholds in every process of a run (Python's own:
# 700, 10, 10). A test run allocates far more than most programs (apps,
# clients, requests, then garbage), and with the default thresholds the
# collector ran every few hundred allocations and walked the whole heap five
# times in a step-8 lesson run: 1.6-1.9 s of that run's 12-13.5 CPU-s, in one
# process on a loaded machine. At these, 0.1-0.3 s, the run 12 % cheaper, with
# the same peak memory (226-228 MB). Nothing is left uncollected: the
# collections are fewer and bigger, and pytest's own at the end (its check for
# unraisable exceptions) still finds what a test left unclosed, though it may
# then name a later test than the one that left it.
GC_THRESHOLDS = (50_000, 20, 100)


def pytest_configure(config: pytest.Config) -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    greenlets.keep_main_greenlets()  # or a worker can stall (see the module)
    coverage_workers.stop_the_controllers_measurement(config)  # it only costs time (see the module)
    app_dir = config.getoption("--app-dir")
    if app_dir:
        refuse_a_package_the_repository_shadows(config.getoption("--app"), app_dir)
        # The judged app imports from there, in this process and in the servers it starts.
        folder = str(app_dir.resolve())
        sys.path.insert(0, folder)
        os.environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [folder, os.environ.get("PYTHONPATH")])
        )
    # Step 6 on: tokens are signed with SECRET_KEY. One key for the session
    # (the apps, the servers the tests start, and tests that sign a token as
    # the contract describes it); without it, a step would write its own key
    # into the repository's .data/.
    os.environ.setdefault("SECRET_KEY", auth.TEST_SECRET_KEY)
    # Step 8 limits logins per username and per client address; the suite logs
    # in far more often than any person (the tests of the limit set their own).
    os.environ.setdefault("LOGIN_RATE_LIMIT", "1000000/minute")
    os.environ.setdefault("LOGIN_IP_RATE_LIMIT", "1000000/minute")
    # So does step 8's sign-up limit exercise, once a learner has added it.
    os.environ.setdefault("SIGNUP_RATE_LIMIT", "1000000/minute")
    config.addinivalue_line(
        "markers",
        "backends(*names): run only on these database backends (sqlite, postgresql)",
    )


@pytest.fixture(scope="session")
def postgres_server() -> postgres.Server:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: TEST_DATABASE_URL is not set")
        pytest.skip(
            "PostgreSQL: set TEST_DATABASE_URL=postgresql+psycopg://user@host:5432/db to run"
        )
    return postgres.Server(url)


@pytest.fixture
def empty_database_url(
    request: pytest.FixtureRequest, step: Step, backend: str, tmp_path_factory
) -> Iterator[str]:
    """A brand-new database with nothing in it, not even tables; dropped after the test.

    For the tests that change or inspect a schema from scratch (migrations,
    start-up checks); the others share `database_url`'s, emptied per test.
    """
    if backend == "postgresql":
        server: postgres.Server = request.getfixturevalue("postgres_server")
        with server.new_database() as url:
            yield url
        return
    yield f"sqlite:///{tmp_path_factory.mktemp('db') / step.package}.db"


@pytest.fixture(scope="session")
def worker_databases() -> Iterator[dict[tuple[str, str], databases.Database]]:
    """This worker's database per (step, backend), made on first use, dropped at the end."""
    made: dict[tuple[str, str], databases.Database] = {}
    yield made
    for database in made.values():
        database.close()


@pytest.fixture(scope="session")
def worker_apps() -> Iterator[dict[tuple[Step, str], tuple[FastAPI, dict]]]:
    """This worker's app per (step, backend), imported once, with the modules it was built from."""
    loaded: dict[tuple[Step, str], tuple[FastAPI, dict]] = {}
    yield loaded
    for (step, _), (_, modules) in loaded.items():
        apps.dispose(modules[f"{step.import_root}.database"].engine)  # sync or async


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest,
    step: Step,
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    worker_databases: dict[tuple[str, str], databases.Database],
) -> str:
    """A database the app can start on, with no rows in it (its ids start at 1).

    For a step whose schema is owned by migrations, it has been brought to head
    by `alembic upgrade head`, as a learner's would be. It is this worker's
    database for the step and backend, emptied before the test (see
    tests/support/databases.py).
    """
    key = (step.package, backend)
    if key not in worker_databases:
        server = request.getfixturevalue("postgres_server") if backend == "postgresql" else None
        folder = tmp_path_factory.mktemp(f"{step.package}-{backend}")
        worker_databases[key] = databases.create(step, backend, folder, server)
    database = worker_databases[key]
    database.empty()
    return database.url


@pytest.fixture
def empty_database(
    step: Step,
    backend: str,
    database_url: str,
    worker_databases: dict[tuple[str, str], databases.Database],
) -> Callable[[], None]:
    """Empties the test's database again, for a test that needs a fresh one more than once."""
    return worker_databases[(step.package, backend)].empty


@pytest.fixture
def app(
    request: pytest.FixtureRequest,
    step: Step,
    backend: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    worker_apps: dict[tuple[Step, str], tuple[FastAPI, dict]],
) -> FastAPI:
    """The step's app, bound to `database_url` through DATABASE_URL, as a learner's shell does.

    A persistent step is imported once per worker and backend (its data is in
    the database, emptied per test); step 1 keeps its data in the module, so
    it is imported afresh for every test. From step 6 on, it hashes passwords
    with cheap Argon2 parameters unless the test is marked real_hashing.
    """
    monkeypatch.setenv("DATABASE_URL", database_url)
    # A judged copy with no database module yet (a fresh practice copy of
    # step 2 is step 1's code) keeps its data in memory too.
    if not step.offers("persistent") or not (step.path / "database.py").exists():
        return apps.load(step, database_url, monkeypatch)
    key = (step, backend)
    if key in worker_apps:
        loaded, modules = worker_apps[key]
        apps.reinstate(step, modules)
    else:
        loaded = apps.load(step, database_url, monkeypatch)
        worker_apps[key] = (loaded, apps.modules(step))
    # Steps with passwords hash cheaply, except in the tests about hashing
    # itself (marked real_hashing).
    if step.offers("auth") and not request.node.get_closest_marker("real_hashing"):
        auth.hash_cheaply(step, request)
    return loaded


@pytest.fixture(scope="module")
def module_servers() -> Iterator[dict[tuple, UvicornServer]]:
    """This worker's running servers for the tests of one module; stopped when it leaves it."""
    running: dict[tuple, UvicornServer] = {}
    yield running
    for started in running.values():
        started.stop()


# On a server's PYTHONPATH: its sitecustomize makes Argon2 cheap (see the module).
CHEAP_HASHING_PATH = Path(__file__).parent / "full" / "cheap_hashing"


@pytest.fixture
def server(
    request: pytest.FixtureRequest,
    step: Step,
    backend: str,
    database_url: str,
    module_servers: dict[tuple, UvicornServer],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[UvicornServer]:
    """The step under a real uvicorn (as a learner runs it), on `database_url`.

    Starting one costs a second or two of CPU, more than most tests that use
    it, so the tests of a module share it on SQLite: one per step and
    environment on each worker, started by the first test that asks for it
    and stopped after the module's last. Each test gets it on a database
    emptied for it (`database_url`), and its `log()` from this test on
    (`log(whole=True)`: since the start); a server that has exited is started
    again. Each test has a server of its own on PostgreSQL, where a server
    keeps up to 40 connections open once it has served that many requests at
    once (its pool): a worker's servers for every step would pass the
    server's 100 clients. So has each test of step 1, whose data is in the
    process. Unless the test is marked real_hashing, the server hashes
    passwords with cheap Argon2 parameters (tests/full/cheap_hashing).
    """
    env = {"DATABASE_URL": database_url}
    cheap = CHEAP_HASHING_PATH.is_dir() and not request.node.get_closest_marker("real_hashing")
    if cheap:
        paths = [str(CHEAP_HASHING_PATH), os.environ.get("PYTHONPATH")]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))

    def log_path() -> Path:
        return tmp_path_factory.mktemp(f"uvicorn-{step.package}-{backend}") / "uvicorn.log"

    if backend != "sqlite":
        with UvicornServer(step.app_ref, env=env, log_path=log_path()) as running:
            yield running
        return
    environment = frozenset(
        (name, value) for name, value in os.environ.items() if name != "PYTEST_CURRENT_TEST"
    )
    key = (step, cheap, environment)
    running = module_servers.get(key)
    if running is None or not running.running():
        running = UvicornServer(step.app_ref, env=env, log_path=log_path()).start()
        module_servers[key] = running
    else:
        running.mark_log()
    yield running


@pytest.fixture(scope="session")
def worker_clients() -> Iterator[dict[int, InProcessClient]]:
    """This worker's running client per app: its lifespan started once, ended at the end.

    Entering a client runs the app's lifespan: an app that is
    kept for the session (a persistent step's, see `app`) keeps its client
    running too; each test gets it back with no cookies, headers or hooks of
    the test before, on a database emptied for it.
    """
    running: dict[int, InProcessClient] = {}
    yield running
    for test_client in running.values():
        test_client.__exit__(None, None, None)


@pytest.fixture
def client(
    request: pytest.FixtureRequest,
    app: FastAPI,
    step: Step,
    worker_apps: dict[tuple[Step, str], tuple[FastAPI, dict]],
    worker_clients: dict[int, InProcessClient],
) -> Iterator[InProcessClient]:
    """An HTTP client for the app, whose lifespan has run.

    Against a step with authentication it signs up with a password and acts
    as the owner of what it changes (tests/support/auth.py, ActAsOwner). On
    every step, each response it receives is checked for secrets (a password,
    a hash, the signing key): none may ever appear.
    """
    kept = any(loaded is app for loaded, _ in worker_apps.values())
    if kept and id(app) in worker_clients:
        test_client = worker_clients[id(app)]
    else:
        test_client = InProcessClient(app).__enter__()
        if kept:
            worker_clients[id(app)] = test_client
    test_client.cookies.clear()
    test_client.headers = test_client.initial_headers
    test_client.auth = auth.acting_as_owner(step)
    recorded = exchange.recorder(request.node)
    test_client.event_hooks = {
        "request": recorded["request"],
        "response": [
            *recorded["response"],
            functools.partial(auth.assert_no_secrets, passwords=step.offers("auth")),
        ],
    }
    try:
        yield test_client
    finally:
        if not kept:
            test_client.__exit__(None, None, None)


@pytest.fixture
def signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app signs with a key the tests know, and never makes one in the repository."""
    monkeypatch.setenv("SECRET_KEY", auth.TEST_SECRET_KEY)
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)


@pytest.fixture
def anonymous(client: InProcessClient) -> InProcessClient:
    """The test says who is asking: its client adds no token of its own."""
    client.auth = None
    return client


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """One line per reason for skipping, however many tests it skipped."""
    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    for reason, count in reasons.most_common():
        terminalreporter.write_line(f"{count} skipped: {reason}")
