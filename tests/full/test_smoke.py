"""Each step, started exactly as the README and the docs say, answers over HTTP."""

import json
import urllib.request
from pathlib import Path

import pytest

from shared.catalog import Step
from shared.server import UvicornServer
from tests.support import migrations

pytestmark = pytest.mark.taught("run-it")


def request(method: str, url: str, body: dict | None = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url, data=data, method=method, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as response:
        return response.status, response.read()


def exercise(base_url: str) -> None:
    status, body = request("POST", f"{base_url}/tasks", {"title": "Buy milk"})
    assert status == 201
    task = json.loads(body)
    assert task["title"] == "Buy milk"
    status, body = request("GET", f"{base_url}/tasks/{task['id']}")
    assert status == 200
    assert json.loads(body) == task
    status, body = request("GET", f"{base_url}/docs")
    assert status == 200
    assert b"swagger-ui" in body


@pytest.mark.names_the_step
def test_uvicorn_command_from_the_readme_serves_the_step(
    step: Step, backend: str, database_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url}
    if step.offers("migrations"):  # migrated first, with the command the docs give
        migrations.cli(step, database_url, "upgrade", "head")
    # `uvicorn steps.<package>.main:app --reload`, run from the repository root.
    with UvicornServer(
        step.app_ref, env=env, extra_args=["--reload"], log_path=tmp_path / "uvicorn.log"
    ) as server:
        exercise(server.url)
        _, body = request("GET", f"{server.url}/")
    welcome = json.loads(body)
    # It serves the step asked for. An app written elsewhere, judged with --app,
    # names itself; a step number, if it gives one, is this step's (as the
    # welcome rule of tests/lesson/test_tasks.py says).
    if step.written_here:
        assert welcome["step"] == step.number
    else:
        assert welcome.get("step", step.number) == step.number, welcome
