"""SQL injection: text that looks like SQL is data.

It is stored and returned exactly as sent, and it changes nothing else. (That
no query in `steps/` is built by formatting strings is
tests/tutorial/test_sql_scan.py's.)
"""

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.taught("why-it-is-built-this-way")

SQL_LOOKING = [
    "'; DROP TABLE tasks; --",
    "'; DROP TABLE users; --",
    "Robert'); DELETE FROM posts WHERE ('1'='1",
    "' OR '1'='1",
    '" OR ""="',
    "%",
    "_",
    "100%_done",
    "\\",
    "\\'; SELECT 1; --",
    "1; UPDATE users SET email = 'x'",
    "/* comment */ --",
]


@pytest.mark.requires("tasks")
@pytest.mark.parametrize("text", SQL_LOOKING)
def test_sql_looking_task_text_is_kept_literally(client: TestClient, text: str) -> None:
    other = client.post("/tasks", json={"title": "innocent"}).json()

    created = client.post("/tasks", json={"title": text, "description": text})
    assert created.status_code == 201, created.text
    task = created.json()

    assert task["title"] == text
    assert task["description"] == text
    assert client.get(f"/tasks/{task['id']}").json() == task
    assert client.get("/tasks").json() == [other, task]


@pytest.mark.requires("users")
@pytest.mark.parametrize("text", SQL_LOOKING)
def test_sql_looking_user_text_is_kept_literally(client: TestClient, text: str) -> None:
    other = client.post("/users", json={"username": "innocent", "email": "in@example.com"}).json()

    created = client.post(
        "/users", json={"username": text, "email": "quote@example.com", "full_name": text}
    )
    assert created.status_code == 201, created.text
    user = created.json()

    assert user["username"] == text
    assert user["full_name"] == text
    assert client.get(f"/users/{user['id']}").json()["username"] == text
    assert [u["username"] for u in client.get("/users").json()] == ["innocent", text]
    taken = client.post("/users", json={"username": text, "email": "again@example.com"})
    assert taken.status_code == 409
    assert client.get(f"/users/{other['id']}").json()["username"] == "innocent"


@pytest.mark.requires("users")
def test_wildcards_do_not_make_usernames_collide(client: TestClient) -> None:
    for number, username in enumerate(["a_c", "abc", "a%", "ab%"]):
        response = client.post(
            "/users", json={"username": username, "email": f"u{number}@example.com"}
        )
        assert response.status_code == 201, response.text


@pytest.mark.requires("posts")
@pytest.mark.parametrize("text", SQL_LOOKING)
def test_sql_looking_post_text_is_kept_literally(client: TestClient, text: str) -> None:
    user = client.post("/users", json={"username": "ann", "email": "ann@example.com"}).json()

    created = client.post(f"/users/{user['id']}/posts", json={"title": text, "content": text})
    assert created.status_code == 201, created.text
    post = created.json()

    assert (post["title"], post["content"]) == (text, text)
    assert client.get(f"/posts/{post['id']}").json() == post
    assert client.get(f"/users/{user['id']}").json()["username"] == "ann"


# No query built from strings ------------------------------------------------
