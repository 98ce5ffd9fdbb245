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


# Each text is stored as a row of its own beside the others, in one database:
# a text taken for SQL would show as a wrong row, a missing one or an error.


@pytest.mark.requires("tasks")
def test_sql_looking_task_text_is_kept_literally(client: TestClient) -> None:
    other = client.post("/tasks", json={"title": "innocent"}).json()
    tasks = []
    for text in SQL_LOOKING:
        created = client.post("/tasks", json={"title": text, "description": text})
        assert created.status_code == 201, f"{text!r}: {created.text}"
        task = created.json()

        assert (task["title"], task["description"]) == (text, text)
        assert client.get(f"/tasks/{task['id']}").json() == task, repr(text)
        tasks.append(task)
    assert client.get("/tasks").json() == [other, *tasks]


@pytest.mark.requires("users")
def test_sql_looking_user_text_is_kept_literally(client: TestClient) -> None:
    other = client.post("/users", json={"username": "innocent", "email": "in@example.com"}).json()
    for number, text in enumerate(SQL_LOOKING):
        created = client.post(
            "/users", json={"username": text, "email": f"u{number}@example.com", "full_name": text}
        )
        assert created.status_code == 201, f"{text!r}: {created.text}"
        user = created.json()

        assert (user["username"], user["full_name"]) == (text, text)
        assert client.get(f"/users/{user['id']}").json()["username"] == text, repr(text)
        taken = client.post("/users", json={"username": text, "email": "again@example.com"})
        assert taken.status_code == 409, f"{text!r} again: {taken.text}"
    users = client.get("/users").json()
    assert [user["username"] for user in users] == ["innocent", *SQL_LOOKING]
    assert client.get(f"/users/{other['id']}").json()["username"] == "innocent"


@pytest.mark.requires("users")
def test_wildcards_do_not_make_usernames_collide(client: TestClient) -> None:
    for number, username in enumerate(["a_c", "abc", "a%", "ab%"]):
        response = client.post(
            "/users", json={"username": username, "email": f"u{number}@example.com"}
        )
        assert response.status_code == 201, response.text


@pytest.mark.requires("posts")
def test_sql_looking_post_text_is_kept_literally(client: TestClient) -> None:
    user = client.post("/users", json={"username": "ann", "email": "ann@example.com"}).json()
    for text in SQL_LOOKING:
        created = client.post(f"/users/{user['id']}/posts", json={"title": text, "content": text})
        assert created.status_code == 201, f"{text!r}: {created.text}"
        post = created.json()

        assert (post["title"], post["content"]) == (text, text)
        assert client.get(f"/posts/{post['id']}").json() == post, repr(text)
    assert [post["title"] for post in client.get("/posts").json()] == SQL_LOOKING
    assert client.get(f"/users/{user['id']}").json()["username"] == "ann"


# No query built from strings ------------------------------------------------
