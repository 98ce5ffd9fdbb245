"""Where HTTP cannot see: how each persistent step sets up its database."""

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from shared.catalog import ROOT, Step
from tests.support import apps, engines, migrations, sqlite

pytestmark = [
    pytest.mark.requires("persistent"),
    pytest.mark.internals,
    pytest.mark.taught("why-it-is-built-this-way"),
]


def test_default_database_is_a_file_named_after_the_step_in_the_repository(
    step: Step, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # not relative to the folder the app starts from
    apps.forget(step)
    database = apps.import_module(step, "database")
    expected_url = f"sqlite:///{ROOT / '.data' / step.package}.db"
    assert expected_url == database.DATABASE_URL


@pytest.mark.backends("sqlite")
def test_importing_the_app_touches_no_file_until_it_starts(
    step: Step, backend: str, empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = sqlite.path_of(empty_database_url)
    app = apps.load(step, empty_database_url, monkeypatch)
    assert not path.exists()
    if step.offers("migrations"):
        migrations.upgrade(step, empty_database_url)
    with TestClient(app) as client:
        assert client.post("/tasks", json={"title": "x"}).status_code == 201
    assert path.exists()


@pytest.mark.backends("sqlite")
def test_the_step_listens_to_sqlite_connections(
    step: Step, backend: str, app, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = apps.module_of(step, "database")
    assert any(
        listener.__module__.startswith("steps.")
        for listener in database.engine.pool.dispatch.connect
    )


@pytest.mark.backends("sqlite")
def test_sqlite_runs_in_write_ahead_log_mode(
    step: Step, backend: str, client: TestClient, database_url: str
) -> None:
    assert client.post("/tasks", json={"title": "x"}).status_code == 201
    with sqlite.connect(database_url) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_sqlite_settings_are_not_applied_to_other_databases(
    step: Step, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing connects at import, so no server is needed to check this.
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/nothing")
    apps.forget(step)
    database = apps.import_module(step, "database")
    assert database.engine.dialect.name == "postgresql"
    step_listeners = [
        listener
        for listener in database.engine.pool.dispatch.connect
        if listener.__module__.startswith("steps.")
    ]
    assert step_listeners == []
    # Writers queue in the app only for SQLite: PostgreSQL has row locks.
    with engines.plain_session(database.SessionLocal) as session:
        assert list(session.dispatch.before_flush) == []
        assert list(session.dispatch.after_transaction_end) == []
    apps.forget(step)


def test_the_pool_keeps_a_connection_for_each_thread_of_fastapi(
    step: Step, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # AnyIO's default thread limiter, on which FastAPI runs `def` endpoints.
    fastapi_threads = 40
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'pool.db'}")
    apps.forget(step)
    database = apps.import_module(step, "database")
    assert database.engine.pool.size() >= fastapi_threads
    apps.forget(step)


@pytest.mark.backends("sqlite")
def test_writers_of_one_process_take_turns_in_the_app(
    step: Step, backend: str, client: TestClient
) -> None:
    """A second writer waits for the first one's commit before it sends anything to SQLite.

    Waiting inside SQLite (busy_timeout) would mean polling with growing
    sleeps; the step queues its writers on a lock instead.
    """
    if step.offers("async"):
        pytest.skip("an async step's writers are tasks, not threads: see tests/full/test_async.py")
    database = apps.module_of(step, "database")
    task = apps.module_of(step, "models").Task
    sent_by_second: list[str] = []

    def second_writer() -> None:
        with database.SessionLocal() as second:
            second.add(task(title="second"))
            second.commit()

    writer = threading.Thread(target=second_writer)

    def record(_connection, _cursor, statement: str, *_args: object) -> None:
        if threading.current_thread() is writer:
            sent_by_second.append(statement.split()[0].upper())

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        with database.SessionLocal() as first:
            first.add(task(title="first"))
            first.flush()
            first.add(task(title="first, again"))
            first.flush()  # its own turn: a second flush does not wait for itself
            writer.start()
            writer.join(timeout=0.5)
            assert writer.is_alive()
            assert "INSERT" not in sent_by_second
            first.commit()
        writer.join(timeout=30)
        assert not writer.is_alive()
        assert "INSERT" in sent_by_second
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    titles = [item["title"] for item in client.get("/tasks").json()]
    assert titles == ["first", "first, again", "second"]
