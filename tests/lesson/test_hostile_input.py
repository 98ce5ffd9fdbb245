"""Malformed input: whatever a client sends, a 4xx that says what is wrong.

Broken JSON, the wrong content type, text that is not text, impossible ids:
the answer is a 4xx with a `detail`, never a 500, and nothing is stored.
(Oversized bodies are the hardening's: tests/full/test_body_limit.py.)
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.support.hostile import (
    JSON,
    MALFORMED_TASK_BODIES,
    MALFORMED_TASK_URLS,
    assert_refused,
    post,
)

pytestmark = pytest.mark.taught("why-it-is-built-this-way")


# Each test sends all its cases to one app: every one is refused, so every one
# must find what was stored before it as it was.


@pytest.mark.requires("tasks")
def test_malformed_task_body_is_refused_and_stores_nothing(client: TestClient) -> None:
    task = client.post("/tasks", json={"title": "Keep me"}).json()
    for case, body, content_type in MALFORMED_TASK_BODIES:
        assert_refused(post(client, "/tasks", body, content_type), case)
        headers = {"content-type": content_type} if content_type else {}
        assert_refused(client.put(f"/tasks/{task['id']}", content=body, headers=headers), case)

        assert client.get("/tasks").json() == [task], case


@pytest.mark.requires("tasks")
def test_malformed_task_url_is_refused(client: TestClient) -> None:
    task = client.post("/tasks", json={"title": "Keep me"}).json()
    for url in MALFORMED_TASK_URLS:
        assert_refused(client.get(url), f"GET {url}")
        if not url.startswith("/tasks?"):
            assert_refused(client.put(url, json={"title": "Changed"}), f"PUT {url}")
            assert_refused(client.delete(url), f"DELETE {url}")

        assert client.get("/tasks").json() == [task], url


# JSON escapes of what is not text: a string may not hold them.
BAD_TEXT = {"a lone surrogate": "\\ud800", "a NUL": "\\u0000"}
MARK = "\x01"


def not_text(fields: dict[str, str], field: str, escape: str) -> bytes:
    """`fields` as a JSON object, with `escape` written into `field`'s value (before any @)."""
    local, at, domain = fields[field].partition("@")
    body = json.dumps({**fields, field: f"{local}{MARK}{at}{domain}"})
    return body.replace(json.dumps(MARK)[1:-1], escape).encode()


@pytest.mark.requires("users")
def test_user_text_that_is_not_text_is_refused(client: TestClient) -> None:
    user = client.post("/users", json={"username": "keep", "email": "keep@example.com"}).json()
    fields = {"username": "ann", "email": "ann@example.com", "full_name": "Ann"}
    for field in fields:
        for what, escape in BAD_TEXT.items():
            case = f"{what} in {field}"
            body = not_text(fields, field, escape)
            assert_refused(post(client, "/users", body, JSON), case)
            patched = client.patch(
                f"/users/{user['id']}", content=body, headers={"content-type": JSON}
            )
            assert_refused(patched, case)

            assert client.get("/users").json() == [user], case


@pytest.mark.requires("posts")
def test_post_text_that_is_not_text_is_refused(client: TestClient) -> None:
    user = client.post("/users", json={"username": "ann", "email": "ann@example.com"}).json()
    fields = {"title": "Hello", "content": "World"}
    for field in fields:
        for what, escape in BAD_TEXT.items():
            body = not_text(fields, field, escape)
            created = post(client, f"/users/{user['id']}/posts", body, JSON)
            assert_refused(created, f"{what} in {field}")

    assert client.get("/posts").json() == []


@pytest.mark.requires("users")
def test_malformed_user_url_is_refused(client: TestClient) -> None:
    user = client.post("/users", json={"username": "ann", "email": "ann@example.com"}).json()
    for url in [
        "/users/0",
        f"/users/{2**63}",
        "/users/" + "9" * 5000,
        "/users?limit=101",
        "/users?skip=-1",
    ]:
        assert_refused(client.get(url), f"GET {url}")
        if not url.startswith("/users?"):
            assert_refused(client.patch(url, json={"full_name": "Changed"}), f"PATCH {url}")
            assert_refused(client.delete(url), f"DELETE {url}")

        assert client.get("/users").json() == [user], url


# Through a real uvicorn ---------------------------------------------------
