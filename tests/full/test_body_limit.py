"""The body limit the tutorial adds for you (shared/body_limit.py).

413 past 1 MiB, in the app and in uvicorn, before the body is read.
"""

from __future__ import annotations

import http.client
import json
import socket

import httpx2
import pytest
from fastapi.testclient import TestClient

from shared.body_limit import DEFAULT_MAX_BYTES
from shared.server import HOST, UvicornServer

pytestmark = pytest.mark.taught("why-it-is-built-this-way")

REQUEST_TIMEOUT = 30.0


CHUNK = 64 * 1024


JSON = "application/json"


DEEPLY_NESTED = b'{"title": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


HUGE_NUMBER = b'{"title": "ok", "completed": ' + b"9" * 10_000 + b"}"


# (what it is, body, content type): none of them is a task.
MALFORMED_TASK_BODIES = [
    ("truncated JSON", b'{"title": "Buy', JSON),
    ("JSON that is a number", b"42", JSON),
    ("JSON null", b"null", JSON),
    ("invalid UTF-8", b'{"title": "\xc3\x28"}', JSON),
    ("a lone surrogate in the title", b'{"title": "\\ud800"}', JSON),
    ("a lone surrogate in the description", b'{"title": "ok", "description": "\\udfff"}', JSON),
    ("a NUL byte", b'{"title": "a\\u0000b"}', JSON),
    ("nested 100,000 deep", DEEPLY_NESTED, JSON),
    ("a 10,000-digit number", HUGE_NUMBER, JSON),
    ("NaN for a boolean", b'{"title": "ok", "completed": NaN}', JSON),
    ("a title that is an object", b'{"title": {"$gt": ""}}', JSON),
    ("XML", b"<task><title>Buy milk</title></task>", "application/xml"),
    ("multipart form", b"--x\r\n\r\nBuy milk\r\n--x--\r\n", "multipart/form-data; boundary=x"),
    ("no content type", b'{"title": "Buy milk"}', None),
]


# Paths and queries no task list answers with a 2xx.
MALFORMED_TASK_URLS = [
    "/tasks/0",
    "/tasks/-1",
    f"/tasks/{2**63}",
    f"/tasks/{2**64}",
    "/tasks/" + "9" * 5000,
    "/tasks/1e3",
    "/tasks/%F0%9F%90%8D",
    "/tasks/%00",
    "/tasks?limit=0",
    "/tasks?limit=101",
    f"/tasks?limit={2**64}",
    "/tasks?skip=-1",
    "/tasks?skip=" + "9" * 5000,
    "/tasks?skip=NaN",
    "/tasks?limit=1%00",
]


def strict_json(text: str) -> object:
    """Parse JSON as the standard defines it: no NaN, no Infinity."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def assert_refused(response: httpx2.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert strict_json(response.text)["detail"], response.text


def post(client: TestClient | httpx2.Client, path: str, body: bytes, content_type: str | None):
    headers = {"content-type": content_type} if content_type else {}
    return client.post(path, content=body, headers=headers)


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


@pytest.mark.requires("tasks")
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
def test_uvicorn_survives_every_malformed_request(server: UvicornServer) -> None:
    with httpx2.Client(base_url=server.url, timeout=REQUEST_TIMEOUT) as client:
        for _, body, content_type in MALFORMED_TASK_BODIES:
            assert_refused(post(client, "/tasks", body, content_type))
        for url in MALFORMED_TASK_URLS:
            assert_refused(client.get(url))
    assert_still_serving(server)
