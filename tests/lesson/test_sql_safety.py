"""SQL injection (issue 6, part 5).

Text that looks like SQL is data: it is stored and returned exactly as sent,
and it changes nothing else. And no query in `steps/` is built by formatting
strings, which is what would let such text become SQL.
"""

import ast

import pytest
from fastapi.testclient import TestClient

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

# Calls that send their first argument to the database as SQL.
SQL_SINKS = {"text", "exec_driver_sql", "execute", "executescript", "executemany"}


def formatted(node: ast.expr) -> bool:
    """An f-string, `"..." % x`, `"...".format(x)` or `"..." + x`."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return not (isinstance(node.left, ast.Constant) and isinstance(node.right, ast.Constant))
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    )


def called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def sql_built_from_strings(source: str) -> list[int]:
    """Lines where a formatted string is passed to a call that runs SQL."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and called_name(node) in SQL_SINKS
        and node.args
        and formatted(node.args[0])
    ]
