"""Malformed input: whatever a client sends, a 4xx that says what is wrong.

Broken JSON, the wrong content type, text that is not text, impossible ids:
the answer is a 4xx with a `detail`, never a 500, and nothing is stored.
(Oversized bodies are the hardening's: tests/full/test_body_limit.py.)
"""

from __future__ import annotations

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
