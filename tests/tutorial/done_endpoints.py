"""A learner's own test, run against a right and a broken POST /tasks/{task_id}/done.

The checker of the exercise task_done_test (tests/tutorial/test_exercises.py)
runs the learner's test file with pytest, this module loaded as a plugin
(`-p tests.tutorial.done_endpoints --done-report=FILE`). It gives the test its
`client`: a TestClient for the exercise's step, on a database emptied before
every test, with the endpoint added in one of two versions. Each test that
asks for `client` runs once against each:

- `right`: marks the task completed and answers when, as the page
  "Test your own endpoints" builds it (without its `done_at` column: the
  answer's time is the time it is);
- `broken`: answers exactly the same, but never saves the change.

A good test passes against the first and fails against the second. The
outcomes, by version, are written to the report for the checker to judge,
with why the file could not be collected, if it could not.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoint's
# annotations, which name modules of the step imported in a function.

import json
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import AwareDatetime, BaseModel

from shared import exercises
from shared.catalog import Step
from tests.support import apps, databases

VERSIONS = ("right", "broken")
STEP = exercises.get("task_done_test").step


class TaskDone(BaseModel):
    """The answer of POST /tasks/{task_id}/done."""

    id: int
    done_at: AwareDatetime


def done_router(step: Step, *, saves: bool) -> APIRouter:
    """POST /tasks/{task_id}/done, made of the modules of the step's app just imported."""
    tasks = apps.module_of(step, "routers.tasks")
    database = apps.module_of(step, "database")
    dependencies = apps.module_of(step, "dependencies")
    router = APIRouter(prefix="/tasks", tags=["tasks"])

    @router.post("/{task_id}/done", responses=tasks.NOT_FOUND)
    def mark_task_done(task_id: dependencies.PathId, db: database.SessionDep) -> TaskDone:
        task = tasks.get_task_or_404(db, task_id)
        task.completed = True
        if saves:
            db.commit()
        return TaskDone(id=task.id, done_at=datetime.now(UTC))

    return router


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--done-report", type=Path, help="write each test's outcome by version")


@pytest.fixture(scope="session")
def done_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[databases.Database]:
    database = databases.create(STEP, "sqlite", tmp_path_factory.mktemp("done"), None)
    yield database
    database.close()


@pytest.fixture(scope="session")
def done_clients(done_database: databases.Database) -> Iterator[dict[str, TestClient]]:
    """A client per version, each on an app of its own (the step imported anew)."""
    clients: dict[str, TestClient] = {}
    with pytest.MonkeyPatch.context() as monkeypatch, ExitStack() as started:
        for version in VERSIONS:
            app: FastAPI = apps.load(STEP, done_database.url, monkeypatch)
            app.include_router(done_router(STEP, saves=version == "right"))
            clients[version] = started.enter_context(TestClient(app))
            engine = apps.module_of(STEP, "database").engine
            started.callback(apps.dispose, engine)
        yield clients


@pytest.fixture(params=VERSIONS)
def done_endpoint(request: pytest.FixtureRequest) -> str:
    """Which version of the endpoint the test runs against."""
    return request.param


@pytest.fixture
def client(
    done_endpoint: str, done_clients: dict[str, TestClient], done_database: databases.Database
) -> TestClient:
    """An HTTP client for the app, on an empty database: its ids start at 1."""
    done_database.empty()
    chosen = done_clients[done_endpoint]
    chosen.cookies.clear()
    return chosen


OUTCOMES = pytest.StashKey[dict[str, dict[str, str | None]]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Note each test's outcome against its version (against both, if it has no client)."""
    report = yield
    if report.when == "call" or report.failed:
        callspec = getattr(item, "callspec", None)
        version = callspec.params.get("done_endpoint") if callspec else None
        why = first_line(report) if report.failed else None
        outcomes = item.config.stash.setdefault(OUTCOMES, {v: {} for v in VERSIONS})
        for noted in [version] if version else VERSIONS:
            if outcomes[noted].get(item.nodeid) is None:  # its first failure is kept
                outcomes[noted][item.nodeid] = why
    return report


def first_line(report: pytest.TestReport | pytest.CollectReport) -> str:
    """What a failed test's error says, in one line (its assertion, as pytest shows it)."""
    crash = getattr(report.longrepr, "reprcrash", None)
    # A fixture that does not exist says so in its errorstring, not in its crash.
    text = getattr(report.longrepr, "errorstring", None) or (
        crash.message if crash else str(report.longrepr)
    )
    text = text.strip()
    return text.splitlines()[0] if text else "failed"


COLLECTION_ERROR = pytest.StashKey[str]()


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    """Keep why the test file could not be collected (a syntax error, a failed import)."""
    report = yield
    if report.failed:
        said = [line for line in str(report.longrepr).splitlines() if line.startswith("E ")]
        error = said[-1].removeprefix("E").strip() if said else first_line(report)
        collector.config.stash.setdefault(COLLECTION_ERROR, error)
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    report = session.config.getoption("done_report")
    if report is not None:
        outcomes = session.config.stash.get(OUTCOMES, {v: {} for v in VERSIONS})
        error = session.config.stash.get(COLLECTION_ERROR, None)
        report.write_text(json.dumps({"collection_error": error, **outcomes}))
