"""Nothing acknowledged is lost: restarts and crashes.

From step 2 on, a 201 means "on disk". These tests create records, end the
server (cleanly, or with SIGKILL right after the last 201, as a crash or an
out-of-memory killer would), start it again on the same database, and expect
every acknowledged record back, unchanged. The SQLite file must also pass
`PRAGMA integrity_check` after the crash.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient

from shared.catalog import Step
from shared.server import UvicornServer
from tests.support import apps, auth, sqlite

pytestmark = [pytest.mark.requires("persistent"), pytest.mark.taught("why-it-is-built-this-way")]

TASKS = 30
USERS = 5
POSTS_PER_USER = 3

Client = httpx2.Client | TestClient


def created(response: httpx2.Response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def create_records(client: Client, step: Step) -> dict[str, list[dict]]:
    """Some of everything the step offers, as the API acknowledged it."""
    records: dict[str, list[dict]] = {"/tasks": [], "/users": [], "/posts": []}
    for n in range(TASKS):
        body = {"title": f"task {n}", "description": f"text {n}", "completed": n % 2 == 0}
        records["/tasks"].append(created(client.post("/tasks", json=body)))
    if step.offers("users"):
        for n in range(USERS):
            body = {"username": f"user{n}", "email": f"user{n}@example.com"}
            records["/users"].append(created(client.post("/users", json=body)))
    if step.offers("posts"):
        for user in records["/users"]:
            for n in range(POSTS_PER_USER):
                body = {"title": f"post {n}", "content": f"by {user['username']}"}
                records["/posts"].append(
                    created(client.post(f"/users/{user['id']}/posts", json=body))
                )
    return records


def read_records(client: Client, step: Step) -> dict[str, list[dict]]:
    """What the API lists now, in the shape `create_records` returns."""
    records: dict[str, list[dict]] = {"/tasks": [], "/users": [], "/posts": []}
    for collection, feature in (("/tasks", "tasks"), ("/users", "users"), ("/posts", "posts")):
        if step.offers(feature):
            response = client.get(collection, params={"limit": 100})
            assert response.status_code == 200, response.text
            records[collection] = response.json()
    return records


@pytest.fixture
def server_log(tmp_path: Path) -> Path:
    return tmp_path / "uvicorn.log"


# Hashing is not what these tests are about: cheap Argon2 (see the folder's module).
CHEAP_HASHING = Path(__file__).parent / "cheap_hashing"


@pytest.fixture
def server(step: Step, database_url: str, server_log: Path) -> UvicornServer:
    """The step under uvicorn on `database_url`, not started yet."""
    env = {"DATABASE_URL": database_url}
    if CHEAP_HASHING.is_dir():
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(CHEAP_HASHING), os.environ.get("PYTHONPATH")])
        )
    return UvicornServer(step.app_ref, env=env, log_path=server_log)


@pytest.fixture
def acknowledged_then_killed(step: Step, server: UvicornServer) -> Iterator[dict]:
    """Records created through uvicorn, then the server SIGKILLed right after the last 201."""
    server.start()
    try:
        with httpx2.Client(base_url=server.url, auth=auth.acting_as_owner(step)) as client:
            records = create_records(client, step)
        server.kill()
        yield records
    finally:
        server.stop()


def test_a_new_app_on_the_same_database_sees_the_data(
    step: Step, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(apps.load(step, database_url, monkeypatch)) as client:
        client.auth = auth.acting_as_owner(step)
        records = create_records(client, step)
    with TestClient(apps.load(step, database_url, monkeypatch)) as client:
        assert read_records(client, step) == records


def test_data_survives_a_server_restart(step: Step, server: UvicornServer) -> None:
    with server, httpx2.Client(base_url=server.url, auth=auth.acting_as_owner(step)) as client:
        records = create_records(client, step)
    with server, httpx2.Client(base_url=server.url, auth=auth.acting_as_owner(step)) as client:
        assert read_records(client, step) == records


def test_every_acknowledged_record_survives_sigkill(
    step: Step, server: UvicornServer, acknowledged_then_killed: dict
) -> None:
    with server, httpx2.Client(base_url=server.url, auth=auth.acting_as_owner(step)) as client:
        assert read_records(client, step) == acknowledged_then_killed
        # And the restarted server keeps writing where the killed one stopped.
        task = created(client.post("/tasks", json={"title": "after the crash"}))
        assert task["id"] not in {t["id"] for t in acknowledged_then_killed["/tasks"]}
    assert "Traceback" not in server.log(), server.log()


@pytest.mark.backends("sqlite")
def test_sqlite_file_is_intact_after_sigkill(
    database_url: str, acknowledged_then_killed: dict
) -> None:
    # Opened right after the crash, before any server recovers it.
    with sqlite.connect(database_url) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        tasks = connection.execute("SELECT count(*) FROM tasks").fetchone()[0]
    assert tasks == len(acknowledged_then_killed["/tasks"])
