"""Step 8 through real processes: several workers, Redis, a database that goes away, SIGTERM, logs.

Each test starts its own uvicorn (as the step's page runs it) with the
settings it needs: what is claimed about processes is shown with processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import runpy
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import make_url

from shared.catalog import ROOT, Step
from shared.server import UvicornServer, free_port
from tests.support import make, redis
from tests.support.auth import PASSWORD, bearer
from tests.support.databases import rows
from tests.support.tcp_proxy import TcpProxy

# The fixtures of a Redis server and of a database of this test process's own on it.
redis_server, redis_database, redis_url = redis.redis_server, redis.redis_database, redis.redis_url

pytestmark = [
    pytest.mark.requires("production"),
    pytest.mark.taught("why-it-is-built-this-way"),
    pytest.mark.usefixtures("signing_key"),
]

WRONG = "not the password at all"
ADA = {"username": "ada", "email": "ada@example.com", "password": PASSWORD}


# On a server's PYTHONPATH: its sitecustomize makes Argon2 cheap (see the module).
CHEAP_HASHING = Path(__file__).parent / "cheap_hashing"


def uvicorn(
    step: Step,
    tmp_path: Path,
    database_url: str,
    *,
    workers: int = 1,
    cheap_hashing: bool = False,
    **settings: str,
) -> UvicornServer:
    """The step under uvicorn (started by `with`), with these settings, its log in tmp_path.

    `cheap_hashing`: Argon2 at its cheapest parameters, for a test that signs
    up and logs in but is not about hashing (its step's hashes cost a tenth of
    a second each); otherwise, as the step hashes.
    """
    extra = ["--workers", str(workers), "--timeout-graceful-shutdown", "20"] if workers > 1 else []
    env = {"DATABASE_URL": database_url, **settings}
    if cheap_hashing and CHEAP_HASHING.is_dir():
        paths = [str(CHEAP_HASHING), os.environ.get("PYTHONPATH")]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
    return UvicornServer(
        step.app_ref,
        env=env,
        extra_args=extra,
        log_path=tmp_path / "uvicorn.log",
    )


def json_lines(log: str) -> list[dict]:
    """The log's JSON objects (with several workers, uvicorn's parent writes plain lines)."""
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


def access_lines(log: str) -> dict[str, dict]:
    """The access lines, by request id."""
    return {line["request_id"]: line for line in json_lines(log) if line["logger"] == "access"}


def log_once(server: UvicornServer, shows: Callable[[str], bool], *, within: float = 10) -> str:
    """The server's log (its whole lines) once `shows(log)` is true, or after `within` seconds.

    A worker writes a request's access line after the answer has left: a client
    can hold the answer before the line is in the file, the more so on a busy
    machine. Waiting for what the test needs, rather than a fixed pause, is
    what keeps such a test from failing on a slow day.
    """
    deadline = time.monotonic() + within
    while True:
        log = server.log()
        log = log[: log.rfind("\n") + 1]  # a line being written is not read half-way
        if shows(log) or time.monotonic() > deadline:
            return log
        time.sleep(0.05)


def answered(request_ids: Iterable[str]) -> Callable[[str], bool]:
    """Whether a log holds the access lines of all these requests (for `log_once`)."""
    wanted = set(request_ids)
    return lambda log: wanted <= access_lines(log).keys()


def access_lines_of(server: UvicornServer, request_ids: Iterable[str]) -> dict[str, dict]:
    """The access lines, by request id, once those of these requests are all in the log."""
    return access_lines(log_once(server, answered(request_ids)))


def fresh(server: UvicornServer) -> httpx.Client:
    """A client that opens a new connection per request: each may reach either worker."""
    return httpx.Client(base_url=server.url, headers={"Connection": "close"}, timeout=30)


# Several workers share the login limit ---------------------------------------------


@pytest.mark.taught("the-login-rate-limit")
@pytest.mark.backends("postgresql")
def test_two_workers_share_the_login_limit_in_redis(
    step: Step, backend: str, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Two workers on PostgreSQL count one login limit in Redis: past it, a 429 from either.

    With counters in each process, two workers would let twice the failures through.
    A 429 spends no hash: it answers in a fraction of a 401's time.
    """
    limit = 3
    settings = {
        "REDIS_URL": redis_url,
        "LOGIN_RATE_LIMIT": f"{limit}/minute",
        "LOGIN_IP_RATE_LIMIT": "1000/minute",
        "LOG_FORMAT": "json",
    }
    with (
        uvicorn(step, tmp_path, database_url, workers=2, **settings) as server,
        fresh(server) as http,
    ):
        assert http.post("/users", json=ADA).status_code == 201
        sent: list[tuple[str, int, str | None]] = []  # request id, status, Retry-After
        # The kernel hands each new connection to either worker, and on a busy machine one
        # worker can take a dozen in a row. So attempts go on, twelve at a time (a 429 costs
        # little), until each worker has refused one: the test never rests on a lucky draw.
        while len(sent) < 120:
            for n in range(len(sent), len(sent) + 12):
                request_id = f"attempt-{n}"
                password = PASSWORD if n == limit else WRONG  # the right one, after the limit
                response = http.post(
                    "/auth/token",
                    data={"username": "ada", "password": password},
                    headers={"X-Request-ID": request_id},
                )
                sent.append((request_id, response.status_code, response.headers.get("retry-after")))
            logged = access_lines_of(server, [request_id for request_id, _, _ in sent])
            if len({logged[r]["pid"] for r, status, _ in sent if status == 429}) == 2:
                break

    answers = [(status, logged[request_id]["pid"], retry) for request_id, status, retry in sent]
    print("attempt, status, worker pid, Retry-After:")
    for n, answer in enumerate(answers):
        print(n, *answer)
    statuses = [status for status, _, _ in answers]
    assert statuses == [401] * limit + [429] * (len(sent) - limit)
    refused_by = {pid for status, pid, _ in answers if status == 429}
    assert len(refused_by) == 2, "every 429 came from one worker: nothing shown about sharing"
    assert all(1 <= int(retry) <= 60 for status, _, retry in answers if status == 429)
    failed_ms = [logged[r]["duration_ms"] for r, status, _ in sent if status == 401]
    refused_ms = [logged[r]["duration_ms"] for r, status, _ in sent if status == 429]
    print(f"median 401: {statistics.median(failed_ms)} ms, 429: {statistics.median(refused_ms)} ms")
    assert statistics.median(refused_ms) * 3 < min(failed_ms)


# Readiness follows the database ------------------------------------------------------


@pytest.mark.taught("health-checks")
@pytest.mark.backends("postgresql")
def test_readiness_is_503_while_the_database_is_unreachable_and_200_again_after(
    step: Step, backend: str, database_url: str, tmp_path: Path
) -> None:
    """GET /health/ready turns 503 when the database cannot be reached, and 200 when it returns.

    The database's connections go through a proxy the test cuts and restores.
    """
    url = make_url(database_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    through_proxy = url.set(host="127.0.0.1", port=proxy.port)
    try:
        with (
            uvicorn(step, tmp_path, through_proxy.render_as_string(hide_password=False)) as server,
            httpx.Client(base_url=server.url, timeout=10) as http,
        ):
            assert http.get("/health/ready").status_code == 200
            assert http.post("/tasks", json={"title": "before"}).status_code == 201
            time.sleep(0.3)  # the request's session is closed after its answer is sent

            proxy.cut()
            started = time.monotonic()
            cut = http.get("/health/ready")
            took = time.monotonic() - started
            assert http.get("/health/live").status_code == 200  # alive: do not restart it

            proxy.restore()
            back = wait_for(lambda: http.get("/health/ready"), 200, within=10)
            after = http.post("/tasks", json={"title": "after"})
    finally:
        proxy.close()
    assert cut.status_code == 503
    assert cut.json()["status"] == "unavailable"
    assert cut.json()["checks"]["database"] in ("error", "timeout")
    assert took < 2.5
    assert back.json() == {"status": "ok", "checks": {"database": "ok"}}
    assert after.status_code == 201  # the pool replaced its dead connections


def wait_for(ask, status: int, *, within: float) -> httpx.Response:
    deadline = time.monotonic() + within
    while True:
        response = ask()
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


# Graceful shutdown ------------------------------------------------------------------------


@pytest.mark.taught("graceful-shutdown")
def test_sigterm_during_a_burst_of_writes_loses_no_acknowledged_request(
    step: Step, backend: str, database_url: str, tmp_path: Path
) -> None:
    """SIGTERM while clients write: every write answered 201 is kept, and the server exits 0.

    Two workers, as in production; clients keep writing until the server stops listening.
    """
    server = uvicorn(step, tmp_path, database_url, workers=2).start()
    acknowledged: list[str] = []
    acknowledged_by: Counter[int] = Counter()
    answered_otherwise: list[int] = []
    refused = 0
    stop = threading.Event()
    lock = threading.Lock()

    def write(writer: int) -> None:
        nonlocal refused
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for n in range(100_000):
                if stop.is_set():
                    return
                title = f"writer {writer} task {n}"
                try:
                    response = http.post("/tasks", json={"title": title})
                except httpx.TransportError:
                    with lock:
                        refused += 1
                    time.sleep(0.01)
                    continue
                with lock:
                    if response.status_code == 201:
                        acknowledged.append(title)
                        acknowledged_by[writer] += 1
                    else:
                        answered_otherwise.append(response.status_code)

    writers = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    for writer in writers:
        writer.start()

    def every_writer_is_writing() -> bool:
        """A few writes of each writer are answered: SIGTERM comes in the middle of a burst."""
        with lock:
            return len(acknowledged_by) == len(writers) and min(acknowledged_by.values()) >= 3

    while not every_writer_is_writing():
        time.sleep(0.01)
    assert server.process is not None
    os.killpg(server.process.pid, signal.SIGTERM)  # the parent and its workers, as docker stop does
    with lock:
        before_sigterm = len(acknowledged)
    returncode = server.process.wait(60)
    stop.set()
    for writer in writers:
        writer.join()

    stored = {title for (title,) in rows(database_url, "SELECT title FROM tasks")}
    print(
        f"{backend}: acknowledged before SIGTERM {before_sigterm}, in all {len(acknowledged)},"
        f" refused after it {refused}, stored {len(stored)}, exit code {returncode}"
    )
    assert returncode == 0, server.log()
    assert answered_otherwise == []
    assert set(acknowledged) <= stored
    assert "Waiting for application shutdown" in server.log()


# Logs --------------------------------------------------------------------------------------


@pytest.mark.taught("request-ids-and-logs")
@pytest.mark.backends("sqlite")
def test_no_secret_in_any_log_line_under_json_logs(
    step: Step, backend: str, database_url: str, tmp_path: Path
) -> None:
    """LOG_FORMAT=json: one JSON object per line, and no password, hash, token or key in any."""
    new_password = "another long password"
    settings = {"LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"}
    # Cheap hashes are Argon2 hashes too: "$argon2" in a line would still be found.
    with (
        uvicorn(step, tmp_path, database_url, cheap_hashing=True, **settings) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        ada = http.post("/users", json=ADA).json()
        token = http.post("/auth/token", data={"username": "ada", "password": PASSWORD}).json()[
            "access_token"
        ]
        wrong = http.post("/auth/token", data={"username": "ada", "password": WRONG})
        assert wrong.status_code == 401
        assert http.get("/users/me", headers=bearer(token)).status_code == 200
        assert http.get("/users/me", headers=bearer(token + "x")).status_code == 401
        short = {"username": "bob", "email": "bob@example.com", "password": "short"}
        assert http.post("/users", json=short).status_code == 422
        change = {"password": new_password, "current_password": PASSWORD}
        patched = http.patch(f"/users/{ada['id']}", json=change, headers=bearer(token))
        assert patched.status_code == 200
        log = log_once(server, lambda log: "PATCH /users/1 200" in log)

    [(stored_hash,)] = rows(database_url, "SELECT password_hash FROM users")
    lines = log.splitlines()
    assert len(lines) > 8
    assert json_lines(log) == [json.loads(line) for line in lines]  # every line is JSON
    print("one line of the log:", lines[-1])
    secrets = [PASSWORD, WRONG, new_password, "short", stored_hash, token, os.environ["SECRET_KEY"]]
    for secret in [*secrets, "Bearer ", "$argon2"]:
        assert secret not in log, f"{secret[:12]}... is in the log"
    assert {"POST /auth/token 200", "POST /auth/token 401", "PATCH /users/1 200"} <= {
        line["message"].rsplit(" ", 2)[0] for line in access_lines(log).values()
    }


@pytest.mark.taught("request-ids-and-logs")
@pytest.mark.backends("sqlite")
def test_every_log_line_of_a_request_carries_its_request_id(
    step: Step, backend: str, database_url: str, tmp_path: Path
) -> None:
    """Every line logged while a request is served carries that request's X-Request-ID.

    Readiness with a Redis that refuses connections logs a warning from inside
    the request: it must carry the id as the access line does, even with
    requests served at the same time.
    """
    with socket_that_refuses() as port:
        settings = {"LOG_FORMAT": "json", "REDIS_URL": f"redis://127.0.0.1:{port}/0"}
        with uvicorn(step, tmp_path, database_url, **settings) as server:
            ids = [f"probe-{n}" for n in range(8)]

            def ask(request_id: str) -> None:
                with httpx.Client(base_url=server.url, timeout=30) as http:
                    response = http.get("/health/ready", headers={"X-Request-ID": request_id})
                assert response.status_code == 503
                assert response.headers["x-request-id"] == request_id

            threads = [threading.Thread(target=ask, args=(request_id,)) for request_id in ids]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            lines = json_lines(log_once(server, answered(ids)))

    for request_id in ids:
        own = [line for line in lines if line["request_id"] == request_id]
        # The access line, and the warning written while serving it, which names Redis.
        assert len(own) >= 2, own
        assert any("redis" in line["message"] for line in own if line["logger"] != "access"), own
    # Every other line written while serving: the access line of a request of its own (the
    # GET / that waited for the server to start).
    others = [line for line in lines if line["request_id"] not in {"-", *ids}]
    assert {line["logger"] for line in others} <= {"access"}
    # The lines of start-up and shutdown belong to no request.
    assert any(line["request_id"] == "-" for line in lines)


@contextlib.contextmanager
def socket_that_refuses() -> Iterator[int]:
    """A local port nothing listens on: a connection to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield port


# A bad setting, with several workers -------------------------------------------------------


def image_command(step: Step, port: int) -> list[str]:
    """The Dockerfile's ENTRYPOINT then CMD, as the container runs them, on 127.0.0.1:port."""
    text = re.sub(r"\\\n\s*", " ", (step.path / "Dockerfile").read_text())
    found = {
        keyword: json.loads(arguments)
        for keyword, _, arguments in (line.partition(" ") for line in text.splitlines())
        if keyword in ("ENTRYPOINT", "CMD")
    }
    command = found.get("ENTRYPOINT", []) + found["CMD"]
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    return command


def venv_first() -> str:
    """PATH with this venv's scripts first, as the image puts its /venv/bin first."""
    return f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"


def run_to_the_end(
    args: Sequence[str], env: dict[str, str], *, within: float
) -> tuple[int | None, str, float]:
    """(exit code, output, seconds); the exit code is None when it still ran after `within` s
    (then it and its workers are killed)."""
    started = time.monotonic()
    with subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: uvicorn's workers stop with it
    ) as process:
        try:
            output, _ = process.communicate(timeout=within)
        except subprocess.TimeoutExpired:
            took = time.monotonic() - started
            os.killpg(process.pid, signal.SIGKILL)
            return None, process.communicate()[0], took
    return process.returncode, output, time.monotonic() - started


@pytest.mark.internals  # the image's command is read from the step's Dockerfile
@pytest.mark.taught("settings")
@pytest.mark.backends("sqlite")
@pytest.mark.parametrize("way", ["image", pytest.param("make", marks=pytest.mark.repository)])
def test_a_bad_setting_stops_two_workers_once_with_one_line(
    step: Step, backend: str, database_url: str, way: str
) -> None:
    """LOG_FORMAT=xml with two workers: the whole server stops at once, not with exit code 0,
    with one line naming the variable and no traceback.

    uvicorn alone starts again every worker that fails at import, forever, each
    time with the same line. The image checks the settings before uvicorn starts
    (its entrypoint); `make run` migrates first, and the migration reads them.
    """
    port = free_port()
    if way == "image":
        args = image_command(step, port)
        env = {**os.environ, "PATH": venv_first()}
    else:
        args = make.command("run", f"STEP={step.number}", "WORKERS=2", f"PORT={port}")
        env = make.environment()
    env |= {"DATABASE_URL": database_url, "LOG_FORMAT": "xml"}
    returncode, output, took = run_to_the_end(args, env, within=30)
    print(f"{' '.join(args)}\nexit code {returncode} after {took:.1f} s:\n{output}")
    assert returncode is not None, "still running: its workers are started again and again"
    assert returncode != 0
    assert took < 10
    named = [line for line in output.splitlines() if "LOG_FORMAT" in line]
    assert len(named) == 1, output
    assert named[0].startswith("Bad setting: LOG_FORMAT: ")
    assert "Traceback" not in output


@pytest.mark.internals
@pytest.mark.taught("settings")
@pytest.mark.backends("sqlite")
def test_the_images_command_checks_the_settings_then_becomes_uvicorn(
    step: Step, backend: str, database_url: str, tmp_path: Path
) -> None:
    """Good settings: the check gives its process to uvicorn (exec: the same PID, which
    SIGTERM reaches), whose two workers serve; SIGTERM stops it with exit code 0."""
    port = free_port()
    server = UvicornServer(
        step.app_ref,
        command=image_command(step, port),
        port=port,
        env={"DATABASE_URL": database_url, "PATH": venv_first()},
        log_path=tmp_path / "uvicorn.log",
    )
    with server, httpx.Client(base_url=server.url, timeout=30) as http:
        assert server.process is not None
        running = Path(f"/proc/{server.process.pid}/cmdline").read_bytes().split(b"\0")
        assert http.get("/health/live").json() == {"status": "ok"}
    print(" ".join(arg.decode() for arg in running))
    assert any(arg.endswith(b"uvicorn") for arg in running)
    assert f"{step.import_root}.settings".encode() not in running
    assert server.process.returncode == 0, server.log()


class Replaced(Exception):
    """What the test's exec raises: the real one never returns either."""


@pytest.mark.internals
@pytest.mark.parametrize("command", [[], ["uvicorn", "--version"]])
def test_the_settings_check_says_so_or_gives_its_place_to_the_command(
    step: Step,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    """`python -m <step>.settings [command ...]`, in this process (the tests above run it
    in processes of their own, which coverage does not follow)."""

    def execvp(file: str, args: list[str]) -> None:
        raise Replaced(file, args)

    monkeypatch.setattr(os, "execvp", execvp)
    monkeypatch.setattr(sys, "argv", ["settings.py", *command])
    module = f"{step.import_root}.settings"
    monkeypatch.delitem(sys.modules, module, raising=False)  # run afresh, as python -m does
    if command:
        with pytest.raises(Replaced) as replaced:
            runpy.run_module(module, run_name="__main__")
        assert replaced.value.args == ("uvicorn", command)
        assert capsys.readouterr().out == ""
    else:
        runpy.run_module(module, run_name="__main__")
        assert capsys.readouterr().out == "The settings are good.\n"
