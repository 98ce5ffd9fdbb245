"""Authentication where only real processes and time can show it.

The time of a 401, the key that workers share, the server's log, Swagger UI in a browser.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.catalog import ROOT, Step
from shared.server import UvicornServer
from tests.support import apps, auth
from tests.support.auth import PASSWORD, bearer, log_in, sign_up
from tests.support.databases import rows

pytestmark = [
    pytest.mark.requires("auth"),
    pytest.mark.taught("why-it-is-built-this-way"),
    pytest.mark.usefixtures("signing_key"),
]


@pytest.mark.real_hashing
@pytest.mark.backends("sqlite")
@pytest.mark.usefixtures("anonymous")
def test_an_unknown_username_takes_as_long_as_a_wrong_password(client: TestClient) -> None:
    """Otherwise the time of a 401 would tell who has an account.

    Tries in pairs, one of each kind back to back (in turn first), and the
    median of the pairs' ratios: the load of a busy machine changes from one
    second to the next, and a pair's two tries share it. (Medians of each
    kind, compared, failed once beside another suite: the load had changed
    between the tries of one kind and the other's.) Without the dummy hash,
    the ratio is below 0.05.
    """
    sign_up(client, "ada")

    def attempt(username: str) -> float:
        start = time.perf_counter()
        response = client.post("/auth/token", data={"username": username, "password": "wrong!"})
        elapsed = time.perf_counter() - start
        assert response.status_code == 401
        return elapsed

    attempt("nobody")  # the first unknown username makes the dummy hash: not timed
    ratios = []
    for n in range(7):
        if n % 2:
            wrong = attempt("ada")
            unknown = attempt("nobody")
        else:
            unknown = attempt("nobody")
            wrong = attempt("ada")
        ratios.append(unknown / wrong)
    ratio = statistics.median(ratios)
    print(f"unknown / wrong password: {ratio:.2f}")
    assert 0.5 < ratio < 2, ratios


def load_hashing_cheaply(
    step: Step, database_url: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> FastAPI:
    """The step imported afresh, as a start-up does; its sign-ups and logins hash cheaply.

    (Keys are what these tests are about: Argon2 at its real cost adds about
    0.1 s of CPU a hash and proves nothing more.)
    """
    app = apps.load(step, database_url, monkeypatch)
    auth.hash_cheaply(step, request)
    return app


@pytest.mark.internals
def test_secret_key_wins_over_the_key_file(
    step: Step,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    key_file = tmp_path / "step.key"
    monkeypatch.setenv("SECRET_KEY_FILE", str(key_file))
    with TestClient(load_hashing_cheaply(step, database_url, monkeypatch, request)) as client:
        sign_up(client, "ada")
        token = log_in(client, "ada")
    assert jwt.decode(token, auth.TEST_SECRET_KEY, algorithms=["HS256"])["sub"]
    assert not key_file.exists()


@pytest.mark.internals
@pytest.mark.backends("sqlite")
def test_without_secret_key_a_key_file_is_made_once_and_kept(
    step: Step,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.delenv("SECRET_KEY")
    key_file = tmp_path / "keys" / "step.key"
    monkeypatch.setenv("SECRET_KEY_FILE", str(key_file))

    with TestClient(load_hashing_cheaply(step, database_url, monkeypatch, request)) as client:
        sign_up(client, "ada")
        token = log_in(client, "ada")
    key = key_file.read_text().strip()
    assert len(key) >= 32
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert jwt.decode(token, key, algorithms=["HS256"])["sub"]
    assert list(key_file.parent.iterdir()) == [key_file]  # no draft left behind

    # A restart reads the same key: the token signed before is still good.
    with TestClient(apps.load(step, database_url, monkeypatch)) as client:
        assert client.get("/users/me", headers=bearer(token)).status_code == 200
    assert key_file.read_text().strip() == key


# One process imports the step, then forks the workers, which ask for the key
# all at once: each one's first call of secret_key(), where the key file is
# made. As a race, the same as workers that each import the step (uvicorn
# --workers spawns them), at a quarter of the cost: importing a step costs
# about a CPU-second. The key must not be made by the import itself, or the
# forks would inherit it without racing: checked before they start.
WORKERS_ASKING_FOR_THE_KEY = """
import hashlib, os, sys
from pathlib import Path
from {package}.security import secret_key

if Path(os.environ["SECRET_KEY_FILE"]).exists():
    sys.exit("importing the app made the key: the workers would not race for it")
gate, opener = os.pipe()
workers = []
for _ in range({workers}):
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(opener)
            os.read(gate, 1)  # blocks until the parent closes its end: all go at once
            fingerprint = hashlib.sha256(secret_key().encode()).hexdigest()
            os.write(1, (fingerprint + "\\n").encode())  # one write: lines never mixed
            status = 0
        finally:
            os._exit(status)
    workers.append(pid)
os.close(opener)
failed = [pid for pid in workers if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0]
sys.exit(f"{{len(failed)}} of the workers failed" if failed else 0)
"""
WORKERS = 4


@pytest.mark.internals
@pytest.mark.backends("sqlite")
def test_workers_starting_together_agree_on_one_key(
    step: Step, backend: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "step.key"
    env = {
        **{k: v for k, v in os.environ.items() if k != "SECRET_KEY"},
        "SECRET_KEY_FILE": str(key_file),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}",
    }
    script = WORKERS_ASKING_FOR_THE_KEY.format(package=step.import_root, workers=WORKERS)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr

    fingerprints = result.stdout.split()
    assert len(fingerprints) == WORKERS, result.stdout
    assert set(fingerprints) == {hashlib.sha256(key_file.read_text().strip().encode()).hexdigest()}
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.internals
def test_a_key_file_is_never_replaced(step: Step, app, tmp_path: Path) -> None:
    security = apps.module_of(step, "security")
    key_file = tmp_path / "step.key"
    security.create_key_file(key_file)
    first = key_file.read_text()
    security.create_key_file(key_file)  # as a second worker, a moment later
    assert key_file.read_text() == first
    assert list(tmp_path.iterdir()) == [key_file]


@pytest.mark.internals
@pytest.mark.parametrize("key", ["short", "x" * 31])
def test_a_short_secret_key_stops_the_start_up_naming_the_variable(
    step: Step, database_url: str, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    monkeypatch.setenv("SECRET_KEY", key)
    with pytest.raises(SystemExit) as stopped:
        apps.load(step, database_url, monkeypatch)
    message = str(stopped.value.code)
    assert message.startswith("Bad setting: SECRET_KEY: ")
    assert "at least 32 characters" in message
    assert key not in message  # a secret, even a bad one, is never printed


@pytest.mark.internals
@pytest.mark.parametrize(
    ("variable", "value"),
    [("ACCESS_TOKEN_EXPIRE_MINUTES", "abc"), ("ACCESS_TOKEN_EXPIRE_MINUTES", "0")],
)
def test_a_bad_setting_stops_the_start_up_in_one_line(
    step: Step, database_url: str, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as stopped:
        apps.load(step, database_url, monkeypatch)
    message = str(stopped.value.code)
    assert message.startswith(f"Bad setting: {variable}: ")
    assert "\n" not in message


@pytest.mark.repository  # reads the step's page
def test_the_bad_setting_on_step_6s_page_stops_uvicorn_as_shown() -> None:
    """The page's example, run as it is written: one line, exit code 1, no traceback."""
    page = (ROOT / "docs" / "steps" / "step06_auth.md").read_text()
    block = page.split("```text\n$ ACCESS_TOKEN_EXPIRE_MINUTES=abc uvicorn ")[1].split("\n```")[0]
    app, shown = block.split("\n", 1)
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", app],
        cwd=ROOT,
        env={**os.environ, "ACCESS_TOKEN_EXPIRE_MINUTES": "abc"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == shown
    assert "Traceback" not in result.stderr


@pytest.mark.internals
@pytest.mark.backends("sqlite")
def test_a_short_key_in_the_key_file_stops_the_start_up(
    step: Step, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SECRET_KEY")
    key_file = tmp_path / "step.key"
    key_file.write_text("short\n")
    monkeypatch.setenv("SECRET_KEY_FILE", str(key_file))
    app = apps.load(step, database_url, monkeypatch)
    with pytest.raises(RuntimeError, match="at least 32 characters"), TestClient(app):
        pass


@pytest.mark.backends("sqlite")
def test_no_password_hash_or_key_in_the_server_log(
    step: Step, server: UvicornServer, database_url: str
) -> None:
    import httpx2 as httpx

    with httpx.Client(base_url=server.url, timeout=30) as http:
        body = {"username": "ada", "email": "ada@example.com", "password": PASSWORD}
        assert http.post("/users", json=body).status_code == 201
        assert http.post("/users", json={**body, "password": "short"}).status_code == 422
        assert (
            http.post("/auth/token", data={"username": "ada", "password": "wrong"}).status_code
            == 401
        )
        token = http.post("/auth/token", data={"username": "ada", "password": PASSWORD}).json()[
            "access_token"
        ]
        assert http.get("/users/me", headers=bearer(token)).status_code == 200
    [(stored,)] = rows(database_url, "SELECT password_hash FROM users")
    log = server.log(whole=True)  # its start-up too, and what tests before this one caused
    assert "POST /auth/token" in log  # the log was written
    for secret in (PASSWORD, "short", stored, auth.TEST_SECRET_KEY, token):
        assert secret not in log


@pytest.mark.repository  # the suite's own cheap hashing for its servers (tests/full/cheap_hashing)
@pytest.mark.backends("sqlite")
@pytest.mark.parametrize(
    "parameters",
    [
        "m=1024,t=1,p=1",  # the cheapest (tests/full/cheap_hashing)
        pytest.param("m=65536,t=3,p=4", marks=pytest.mark.real_hashing, id="real_hashing"),
    ],
)
def test_the_servers_hash_cheaply_unless_hashing_is_the_subject(
    server: UvicornServer, database_url: str, parameters: str
) -> None:
    import httpx2 as httpx

    body = {"username": "ada", "email": "ada@example.com", "password": PASSWORD}
    assert httpx.post(f"{server.url}/users", json=body, timeout=30).status_code == 201
    [(stored,)] = rows(database_url, "SELECT password_hash FROM users")
    assert stored.startswith(f"$argon2id$v=19${parameters}$")


# One Chromium for the module's browser tests (one a step), not one each:
# starting it costs more than a test. Not one for the session: Playwright's
# sync API keeps an asyncio event loop running in this thread while it is
# open (see tests/tutorial/test_docs.py's `browser`).
@pytest.fixture(scope="module")
def browser() -> Iterator:
    from tests.tutorial import test_docs

    if not Path(test_docs.CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {test_docs.CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=test_docs.CHROMIUM, args=test_docs.CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.mark.repository
@pytest.mark.backends("sqlite")
def test_swagger_ui_authorize_logs_in_and_sends_the_token(server: UvicornServer, browser) -> None:
    import httpx2 as httpx
    from playwright.sync_api import expect

    body = {"username": "ada", "email": "ada@example.com", "password": PASSWORD}
    assert httpx.post(f"{server.url}/users", json=body, timeout=30).status_code == 201

    context = browser.new_context()  # nothing kept from the test before
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{server.url}/docs", wait_until="load")
        page.locator("button.authorize").first.click()
        page.fill("#oauth_username", "ada")
        page.fill("#oauth_password", PASSWORD)
        buttons = page.locator(".modal-ux .auth-btn-wrapper")
        buttons.locator("button.authorize").click()
        # The login (a slow hash, on purpose) has answered once "Logout" shows.
        expect(buttons.locator("button", has_text="Logout")).to_be_visible(timeout=60_000)
        buttons.locator("button.btn-done").click()

        operation = page.locator("#operations-users-read_current_user_users_me_get")
        operation.locator(".opblock-summary").click()
        operation.locator("button.try-out__btn").click()
        operation.locator("button.execute").click()
        live = operation.locator(".live-responses-table .response")
        expect(live.locator(".response-col_status").first).to_have_text("200")
        expect(live.locator(".microlight").first).to_contain_text('"username": "ada"')
    finally:
        context.close()
