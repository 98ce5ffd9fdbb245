"""Where HTTP cannot see: how each persistent step sets up its database."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shared.catalog import ROOT, Step
from tests.support import apps, migrations, sqlite

pytestmark = pytest.mark.requires("persistent")


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
    apps.forget(step)
