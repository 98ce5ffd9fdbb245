"""One suite for every step.

A contract test asks for the `client` fixture and states the features it
needs with `@pytest.mark.requires("users")`; it then runs once per step that
offers them (per `shared/catalog.py`) and, for persistent steps, once per
database backend: SQLite always, PostgreSQL when TEST_DATABASE_URL is set.

Each test gets its own empty database (a file in a temporary folder, or a
new PostgreSQL database) and a freshly imported app bound to it through
DATABASE_URL, exactly as a learner's shell would configure it.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared import catalog
from shared.catalog import Step
from shared.server import UvicornServer
from tests.support import apps, migrations, postgres

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
        "--update-snapshots",
        action="store_true",
        help="rewrite tests/snapshots/ from what the steps serve now",
    )


def selected_steps(config: pytest.Config) -> list[Step]:
    wanted = config.getoption("--step")
    for number in wanted:
        catalog.get(number)  # fails early on a step that does not exist
    return [step for step in catalog.STEPS if not wanted or step.number in wanted]


def backends_for(step: Step, marker: pytest.Mark | None) -> tuple[str, ...]:
    if not step.offers("persistent"):
        return ("memory",)
    allowed = marker.args if marker else BACKENDS
    return tuple(backend for backend in BACKENDS if backend in allowed)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "step" not in metafunc.fixturenames:
        return
    requires = metafunc.definition.get_closest_marker("requires")
    features = requires.args if requires else ()
    steps = [s for s in selected_steps(metafunc.config) if s.offers(*features)]

    if "backend" not in metafunc.fixturenames:
        metafunc.parametrize("step", steps, ids=[f"step{s.number:02d}" for s in steps])
        return
    only = metafunc.definition.get_closest_marker("backends")
    pairs = [(s, backend) for s in steps for backend in backends_for(s, only)]
    metafunc.parametrize(
        ("step", "backend"),
        pairs,
        ids=[f"step{s.number:02d}-{backend}" for s, backend in pairs],
    )


def pytest_configure(config: pytest.Config) -> None:
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
    """A URL to a database with nothing in it, not even tables; dropped after the test."""
    if backend == "postgresql":
        server: postgres.Server = request.getfixturevalue("postgres_server")
        with server.new_database() as url:
            yield url
        return
    yield f"sqlite:///{tmp_path_factory.mktemp('db') / step.package}.db"


@pytest.fixture(scope="session")
def migrated_templates() -> Iterator[tuple[dict, list]]:
    """Per (step, backend): a database migrated to head once, copied for each test.

    SQLite templates are files in a temporary folder; PostgreSQL ones are
    databases, dropped at the end of the session.
    """
    templates: dict[tuple[str, str], str] = {}
    servers: list[postgres.Server] = []
    yield templates, servers
    for server in servers:
        for (_, backend), name in templates.items():
            if backend == "postgresql":
                server.drop(name)


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest,
    step: Step,
    backend: str,
    tmp_path_factory,
    migrated_templates: tuple[dict, list],
) -> Iterator[str]:
    """A URL to an empty database the app can start on, dropped after the test.

    For a step whose schema is owned by migrations, that database has been
    brought to head by `alembic upgrade head`, as a learner's would be.
    """
    templates, servers = migrated_templates
    key = (step.package, backend)
    if backend == "postgresql":
        server: postgres.Server = request.getfixturevalue("postgres_server")
        if step.offers("migrations") and key not in templates:
            name = server.create()
            migrations.upgrade(step, server.url_of(name))
            templates[key] = name
            servers[:] = [server]
        with server.new_database(template=templates.get(key)) as url:
            yield url
        return
    path = tmp_path_factory.mktemp("db") / f"{step.package}.db"
    if step.offers("migrations"):
        if key not in templates:
            template = tmp_path_factory.mktemp("template") / f"{step.package}.db"
            migrations.upgrade(step, f"sqlite:///{template}")
            templates[key] = str(template)
        shutil.copyfile(templates[key], path)
    yield f"sqlite:///{path}"


@pytest.fixture
def app(step: Step, database_url: str, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    """The step's app, freshly imported against `database_url`."""
    return apps.load(step, database_url, monkeypatch)


@pytest.fixture
def server(step: Step, database_url: str, tmp_path: Path) -> Iterator[UvicornServer]:
    """The step under a real uvicorn (as a learner runs it), on `database_url`."""
    with UvicornServer(
        step.app_ref, env={"DATABASE_URL": database_url}, log_path=tmp_path / "uvicorn.log"
    ) as running:
        yield running


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client for the app; entering it runs the app's lifespan."""
    with TestClient(app) as test_client:
        yield test_client


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """One line per reason for skipping, however many tests it skipped."""
    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    for reason, count in reasons.most_common():
        terminalreporter.write_line(f"{count} skipped: {reason}")
