"""The body limit the tutorial adds for you (shared/plumbing/body_limit.py).

413 past 1 MiB, in the app and in uvicorn, before the body is read.
"""

from __future__ import annotations

import http.client
import socket

import httpx2
import pytest
from fastapi.testclient import TestClient

from shared.plumbing.body_limit import DEFAULT_MAX_BYTES
from shared.server import HOST, UvicornServer
from tests.support.hostile import (
    JSON,
    MALFORMED_TASK_BODIES,
    MALFORMED_TASK_URLS,
    assert_refused,
    post,
)

pytestmark = pytest.mark.taught("why-it-is-built-this-way")

REQUEST_TIMEOUT = 30.0


CHUNK = 64 * 1024


@pytest.mark.requires("tasks")
def test_body_of_exactly_the_limit_is_accepted(client: TestClient) -> None:
    start = b'{"title": "padded"'
    body = start + b" " * (DEFAULT_MAX_BYTES - len(start) - 1) + b"}"
    assert len(body) == DEFAULT_MAX_BYTES

    response = post(client, "/tasks", body, JSON)

    assert response.status_code == 201, response.text


@pytest.mark.requires("tasks")
@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
def test_body_one_byte_over_the_limit_is_413(client: TestClient, streamed: bool) -> None:
    start = b'{"title": "padded"'
    body = start + b" " * (DEFAULT_MAX_BYTES - len(start)) + b"}"
    content = iter([body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]) if streamed else body

    response = client.post("/tasks", content=content, headers={"content-type": JSON})

    assert response.status_code == 413
    assert response.json() == {"detail": f"Request body is larger than {DEFAULT_MAX_BYTES} bytes"}
    assert client.get("/tasks").json() == []


def raw_post(server: UvicornServer, headers: dict[str, str], body_parts: list[bytes]) -> tuple:
    """POST /tasks over a bare socket: the body is exactly `body_parts`, however incomplete."""
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = f"POST /tasks HTTP/1.1\r\nHost: {HOST}\r\n{head}\r\n".encode()
    with socket.create_connection((HOST, server.port), timeout=REQUEST_TIMEOUT) as sock:
        sock.sendall(request)
        for part in body_parts:
            sock.sendall(part)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read()


def assert_still_serving(server: UvicornServer) -> None:
    with httpx2.Client(base_url=server.url, timeout=REQUEST_TIMEOUT) as client:
        assert client.get("/tasks").json() == []
        assert client.post("/tasks", json={"title": "still here"}).status_code == 201
    assert "Traceback" not in server.log(), server.log()


# The tests through uvicorn run on SQLite only (and in memory, step 1): a body
# refused never reaches the database, whichever it is (the in-process tests above
# run on every backend), and on PostgreSQL each test would start a server.
@pytest.mark.requires("tasks")
@pytest.mark.backends("sqlite")
def test_uvicorn_refuses_a_huge_declared_body_without_waiting_for_it(
    server: UvicornServer,
) -> None:
    # 10 GiB announced, not one byte sent: only an early refusal can answer.
    headers = {"Content-Type": JSON, "Content-Length": str(10 * 1024**3)}

    status, body = raw_post(server, headers, [])

    assert status == 413
    assert b"larger than" in body
    assert_still_serving(server)


@pytest.mark.requires("tasks")
@pytest.mark.backends("sqlite")
def test_uvicorn_stops_reading_a_chunked_body_at_the_limit(server: UvicornServer) -> None:
    # Chunked, with no length announced, and never finished: an answer
    # proves the server stopped reading once past the limit.
    chunk = f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n"
    chunks = [chunk] * (DEFAULT_MAX_BYTES // CHUNK + 1)
    headers = {"Content-Type": JSON, "Transfer-Encoding": "chunked"}

    status, body = raw_post(server, headers, chunks)

    assert status == 413
    assert b"larger than" in body
    assert_still_serving(server)


@pytest.mark.requires("tasks")
@pytest.mark.backends("sqlite")
def test_uvicorn_survives_every_malformed_request(server: UvicornServer) -> None:
    with httpx2.Client(base_url=server.url, timeout=REQUEST_TIMEOUT) as client:
        for _, body, content_type in MALFORMED_TASK_BODIES:
            assert_refused(post(client, "/tasks", body, content_type))
        for url in MALFORMED_TASK_URLS:
            assert_refused(client.get(url))
    assert_still_serving(server)
