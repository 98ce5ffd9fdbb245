"""Malformed input: whatever a client sends, a 4xx that says what is wrong.

Broken JSON, the wrong content type, text that is not text, impossible ids:
the answer is a 4xx with a `detail`, never a 500, and nothing is stored.
(Oversized bodies are the hardening's: tests/full/test_body_limit.py.)
"""

from __future__ import annotations

import json

import httpx2
import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.taught("why-it-is-built-this-way")


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
@pytest.mark.parametrize(
    ("body", "content_type"),
    [case[1:] for case in MALFORMED_TASK_BODIES],
    ids=[case[0] for case in MALFORMED_TASK_BODIES],
)
def test_malformed_task_body_is_refused_and_stores_nothing(
    client: TestClient, body: bytes, content_type: str | None
) -> None:
    task = client.post("/tasks", json={"title": "Keep me"}).json()

    assert_refused(post(client, "/tasks", body, content_type))
    headers = {"content-type": content_type} if content_type else {}
    assert_refused(client.put(f"/tasks/{task['id']}", content=body, headers=headers))

    assert client.get("/tasks").json() == [task]


@pytest.mark.requires("tasks")
@pytest.mark.parametrize("url", MALFORMED_TASK_URLS)
def test_malformed_task_url_is_refused(client: TestClient, url: str) -> None:
    task = client.post("/tasks", json={"title": "Keep me"}).json()

    assert_refused(client.get(url))
    if not url.startswith("/tasks?"):
        assert_refused(client.put(url, json={"title": "Changed"}))
        assert_refused(client.delete(url))

    assert client.get("/tasks").json() == [task]


@pytest.mark.requires("users")
@pytest.mark.parametrize("field", ["username", "email", "full_name"])
@pytest.mark.parametrize("bad_text", ["\\ud800", "\\u0000"], ids=["lone surrogate", "NUL"])
def test_user_text_that_is_not_text_is_refused(
    client: TestClient, field: str, bad_text: str
) -> None:
    user = client.post("/users", json={"username": "keep", "email": "keep@example.com"}).json()
    fields = {"username": '"ann"', "email": '"ann@example.com"', "full_name": '"Ann"'}
    fields[field] = f'"ann{bad_text}"' if field != "email" else f'"ann{bad_text}@example.com"'
    body = ("{" + ", ".join(f'"{name}": {value}' for name, value in fields.items()) + "}").encode()

    assert_refused(post(client, "/users", body, JSON))
    assert_refused(
        client.patch(f"/users/{user['id']}", content=body, headers={"content-type": JSON})
    )

    assert client.get("/users").json() == [user]


@pytest.mark.requires("posts")
@pytest.mark.parametrize("field", ["title", "content"])
@pytest.mark.parametrize("bad_text", ["\\ud800", "\\u0000"], ids=["lone surrogate", "NUL"])
def test_post_text_that_is_not_text_is_refused(
    client: TestClient, field: str, bad_text: str
) -> None:
    user = client.post("/users", json={"username": "ann", "email": "ann@example.com"}).json()
    fields = {"title": '"Hello"', "content": '"World"'}
    fields[field] = f'"x{bad_text}"'
    body = ("{" + ", ".join(f'"{name}": {value}' for name, value in fields.items()) + "}").encode()

    assert_refused(post(client, f"/users/{user['id']}/posts", body, JSON))

    assert client.get("/posts").json() == []


@pytest.mark.requires("users")
@pytest.mark.parametrize(
    "url",
    ["/users/0", f"/users/{2**63}", "/users/" + "9" * 5000, "/users?limit=101", "/users?skip=-1"],
)
def test_malformed_user_url_is_refused(client: TestClient, url: str) -> None:
    user = client.post("/users", json={"username": "ann", "email": "ann@example.com"}).json()

    assert_refused(client.get(url))
    if not url.startswith("/users?"):
        assert_refused(client.patch(url, json={"full_name": "Changed"}))
        assert_refused(client.delete(url))

    assert client.get("/users").json() == [user]


# Through a real uvicorn ---------------------------------------------------
