"""Nothing acknowledged is lost: restarts and crashes.

From step 2 on, a 201 means "on disk". The test creates records, ends the
server cleanly, starts it again on the same database and expects every
acknowledged record back, unchanged; then creates more, ends it with SIGKILL
right after the last 201 (as a crash or an out-of-memory killer would),
starts it again and expects them all back once more. The SQLite file must
also pass `PRAGMA integrity_check` after the crash.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx2
import pytest

from shared.catalog import Step
from shared.server import UvicornServer
from tests.support import auth, sqlite

pytestmark = [pytest.mark.requires("persistent"), pytest.mark.taught("why-it-is-built-this-way")]

# Enough of each kind to see every field come back; more would prove nothing
# more (this was 30 tasks): each one is committed before its 201 all the same.
TASKS = 10
USERS = 5
POSTS_PER_USER = 3


def created(response: httpx2.Response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def create_records(client: httpx2.Client, step: Step, batch: str) -> dict[str, list[dict]]:
    """Some of everything the step offers, as the API acknowledged it.

    Named after `batch`, so that a second batch's users are new ones.
    """
    records: dict[str, list[dict]] = {"/tasks": [], "/users": [], "/posts": []}
    for n in range(TASKS):
        body = {"title": f"task {n}", "description": f"text {n}", "completed": n % 2 == 0}
        records["/tasks"].append(created(client.post("/tasks", json=body)))
    if step.offers("users"):
        for n in range(USERS):
            body = {"username": f"{batch}{n}", "email": f"{batch}{n}@example.com"}
            records["/users"].append(created(client.post("/users", json=body)))
    if step.offers("posts"):
        for user in records["/users"]:
            for n in range(POSTS_PER_USER):
                body = {"title": f"post {n}", "content": f"by {user['username']}"}
                records["/posts"].append(
                    created(client.post(f"/users/{user['id']}/posts", json=body))
                )
    return records


def read_records(client: httpx2.Client, step: Step) -> dict[str, list[dict]]:
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


def test_every_acknowledged_record_survives_a_restart_then_a_sigkill(
    step: Step, backend: str, database_url: str, server: UvicornServer, tmp_path: Path
) -> None:
    """One server's life: a clean stop and a start, then a crash and a start.

    One test rather than one per ending: each start of a step costs about a
    CPU-second, and a crash after a restart is a crash all the same.
    """
    as_owner = auth.acting_as_owner(step)
    with server, httpx2.Client(base_url=server.url, auth=as_owner) as client:
        records = create_records(client, step, "ada")
    # Stopped cleanly (SIGTERM: uvicorn ends the app's lifespan), started again.
    with server, httpx2.Client(base_url=server.url, auth=as_owner) as client:
        assert read_records(client, step) == records
        more = create_records(client, step, "bob")
        server.kill()  # right after the last 201
    records = {collection: records[collection] + more[collection] for collection in records}

    if backend == "sqlite":
        # The file as the crash left it, checked before any server recovers it;
        # on a copy, so that the server below recovers the original, as after
        # any crash (a connection that closes checkpoints the WAL into the file).
        assert_intact(copy_of(database_url, tmp_path / "crashed"), tasks=len(records["/tasks"]))

    with server, httpx2.Client(base_url=server.url, auth=as_owner) as client:
        assert read_records(client, step) == records
        # And the restarted server keeps writing where the killed one stopped.
        task = created(client.post("/tasks", json={"title": "after the crash"}))
        assert task["id"] not in {t["id"] for t in records["/tasks"]}
    assert "Traceback" not in server.log(), server.log()


def copy_of(database_url: str, folder: Path) -> str:
    """A SQLite database copied with its write-ahead log and index, byte for byte.

    Copied by another process (cp): closing a file of the database in this
    one would drop the locks that this worker's own connection to it holds
    (POSIX locks belong to a process, not to a file descriptor), and its
    next query would fail with "disk I/O error".
    """
    original = sqlite.path_of(database_url)
    files = [original.with_name(original.name + suffix) for suffix in ("", "-wal", "-shm")]
    folder.mkdir()
    subprocess.run(["cp", *(str(path) for path in files if path.exists()), str(folder)], check=True)
    return f"sqlite:///{folder / original.name}"


def assert_intact(database_url: str, *, tasks: int) -> None:
    with sqlite.connect(database_url) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        assert connection.execute("SELECT count(*) FROM tasks").fetchone()[0] == tasks
