"""The tasks contract, against every step that offers it (docs/contract.md)."""

import pytest
from fastapi.testclient import TestClient

from shared.catalog import Step

pytestmark = pytest.mark.requires("tasks")

TOO_BIG_IDS = [0, -1, 2**63, 2**64, 10**30]


def create(client: TestClient, **fields) -> dict:
    response = client.post("/tasks", json={"title": "Buy milk", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def all_tasks(client: TestClient) -> list[dict]:
    response = client.get("/tasks")
    assert response.status_code == 200
    return response.json()


@pytest.mark.names_the_step
def test_welcome_names_the_step(client: TestClient, step: Step) -> None:
    """GET / names the step and its title; an app written elsewhere, its own.

    A step of this tutorial and a practice copy of one give the step's exact
    title. A student's app or an exported project judged with --app has a
    name of its own: it must give a title, and a step number, if it gives one,
    that is this step's.
    """
    response = client.get("/")
    assert response.status_code == 200
    body = response.json()
    if step.written_here:
        assert body["step"] == step.number
        assert body["title"] == step.title
    else:
        assert isinstance(body.get("title"), str), body
        assert body["title"].strip(), body
        assert body.get("step", step.number) == step.number, body


def test_create_returns_the_task_with_defaults(client: TestClient) -> None:
    response = client.post("/tasks", json={"title": "Buy milk"})
    assert response.status_code == 201
    task = response.json()
    assert task == {"id": task["id"], "title": "Buy milk", "description": "", "completed": False}
    assert isinstance(task["id"], int)
    assert task["id"] > 0


def test_create_keeps_every_field(client: TestClient) -> None:
    task = create(client, title="Write", description="the report", completed=True)
    assert client.get(f"/tasks/{task['id']}").json() == task
    assert task["description"] == "the report"
    assert task["completed"] is True


def test_ids_are_distinct(client: TestClient) -> None:
    ids = [create(client, title=f"task {n}")["id"] for n in range(5)]
    assert len(set(ids)) == 5


def test_list_is_ordered_by_id(client: TestClient) -> None:
    created = [create(client, title=f"task {n}") for n in range(3)]
    listed = all_tasks(client)
    assert listed == sorted(created, key=lambda task: task["id"])


def test_list_starts_empty(client: TestClient) -> None:
    assert all_tasks(client) == []


def test_list_pages_with_skip_and_limit(client: TestClient) -> None:
    created = [create(client, title=f"task {n}") for n in range(5)]
    page = client.get("/tasks", params={"skip": 1, "limit": 2}).json()
    assert page == created[1:3]
    assert client.get("/tasks", params={"skip": 4}).json() == created[4:]
    assert client.get("/tasks", params={"limit": 100}).json() == created


def test_skip_past_the_end_gives_an_empty_list(client: TestClient) -> None:
    create(client)
    response = client.get("/tasks", params={"skip": 10})
    assert response.status_code == 200
    assert response.json() == []


BAD_PAGINATION = [
    {"skip": -1},
    {"limit": 0},
    {"limit": 101},
    {"limit": -5},
    {"skip": "abc"},
    {"limit": "1.5"},
]


def test_bad_pagination_is_422(client: TestClient) -> None:
    for params in BAD_PAGINATION:
        response = client.get("/tasks", params=params)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][0] == "query"


def test_huge_skip_is_an_empty_page_or_422(client: TestClient) -> None:
    create(client)
    response = client.get("/tasks", params={"skip": 2**64})
    assert response.status_code in (200, 422)
    if response.status_code == 200:
        assert response.json() == []


def test_list_answers_directly_without_redirect(client: TestClient) -> None:
    response = client.get("/tasks", follow_redirects=False)
    assert response.status_code == 200


def test_read_unknown_task_is_404(client: TestClient) -> None:
    response = client.get("/tasks/999")
    assert response.status_code == 404
    assert response.json() == {"detail": "Task not found"}


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_impossible_ids_are_404_or_422(client: TestClient, method: str) -> None:
    task = create(client)
    for task_id in TOO_BIG_IDS:  # each refused, so each finds the task as it was
        response = client.request(method, f"/tasks/{task_id}", json={"title": "x"})
        assert response.status_code in (404, 422), f"id {task_id}: {response.text}"
        assert all_tasks(client) == [task], f"id {task_id}"


def test_non_integer_id_is_422(client: TestClient) -> None:
    assert client.get("/tasks/abc").status_code == 422
    assert client.get("/tasks/1.5").status_code == 422


INVALID_TASKS = [
    {},
    {"title": ""},
    {"title": "x" * 201},
    {"title": "ok", "description": "x" * 2001},
    {"title": None},
    {"title": 123},
    {"title": ["a list"]},
    {"title": "ok", "completed": "maybe"},
    {"title": "ok", "completed": None},
    {"title": "ok", "description": None},
    {"title": "nul \x00 byte"},
    {"title": "ok", "description": "nul \x00 byte"},
]


def test_invalid_task_is_422_and_changes_nothing(client: TestClient) -> None:
    before = all_tasks(client)
    for body in INVALID_TASKS:
        response = client.post("/tasks", json=body)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][0] == "body"
        assert all_tasks(client) == before


def test_longest_allowed_values_are_accepted(client: TestClient) -> None:
    task = create(client, title="t" * 200, description="d" * 2000)
    assert len(task["title"]) == 200
    assert len(task["description"]) == 2000


def test_text_is_kept_exactly(client: TestClient) -> None:
    title = "  Ünïcødé 🐍 'quotes' \"double\" <b>&amp;</b>  "
    task = create(client, title=title, description="line 1\nline 2\ttab")
    assert client.get(f"/tasks/{task['id']}").json()["title"] == title
    assert task["description"] == "line 1\nline 2\ttab"


NOT_JSON_TASKS = [
    (b"{not json", "application/json"),
    (b"", "application/json"),
    (b'["a", "list"]', "application/json"),
    (b'"just a string"', "application/json"),
    (b'{"title": "\xff\xfe"}', "application/json"),
    (b"title=Buy+milk", "application/x-www-form-urlencoded"),
    (b'{"title": "Buy milk"}', "text/plain"),
]


def test_body_that_is_not_a_json_task_is_4xx(client: TestClient) -> None:
    for content, content_type in NOT_JSON_TASKS:
        response = client.post("/tasks", content=content, headers={"content-type": content_type})
        assert 400 <= response.status_code < 500
        assert "detail" in response.json()
        assert all_tasks(client) == []


def test_unknown_fields_are_ignored(client: TestClient) -> None:
    task = create(client, id=424242, owner="someone", completed=False)
    assert task["id"] != 424242
    assert "owner" not in task
    assert client.get("/tasks/424242").status_code == 404


def test_put_replaces_the_whole_task(client: TestClient) -> None:
    task = create(client, title="Old", description="old text", completed=True)
    response = client.put(f"/tasks/{task['id']}", json={"title": "New"})
    assert response.status_code == 200
    expected = {"id": task["id"], "title": "New", "description": "", "completed": False}
    assert response.json() == expected
    assert client.get(f"/tasks/{task['id']}").json() == expected


def test_put_ignores_an_id_in_the_body(client: TestClient) -> None:
    task = create(client)
    response = client.put(f"/tasks/{task['id']}", json={"title": "New", "id": 999})
    assert response.json()["id"] == task["id"]
    assert [t["id"] for t in all_tasks(client)] == [task["id"]]


def test_put_unknown_task_is_404_and_creates_nothing(client: TestClient) -> None:
    response = client.put("/tasks/999", json={"title": "Ghost"})
    assert response.status_code == 404
    assert response.json() == {"detail": "Task not found"}
    assert all_tasks(client) == []


def test_invalid_put_is_422_and_changes_nothing(client: TestClient) -> None:
    task = create(client, title="Keep me")
    response = client.put(f"/tasks/{task['id']}", json={"title": ""})
    assert response.status_code == 422
    assert client.get(f"/tasks/{task['id']}").json() == task


def test_delete_is_204_with_an_empty_body(client: TestClient) -> None:
    task = create(client)
    other = create(client, title="Other")
    response = client.delete(f"/tasks/{task['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"/tasks/{task['id']}").status_code == 404
    assert all_tasks(client) == [other]


def test_delete_unknown_task_is_404(client: TestClient) -> None:
    create(client)
    response = client.delete("/tasks/999")
    assert response.status_code == 404
    assert response.json() == {"detail": "Task not found"}
    assert len(all_tasks(client)) == 1


def test_deleting_twice_is_404_the_second_time(client: TestClient) -> None:
    task = create(client)
    assert client.delete(f"/tasks/{task['id']}").status_code == 204
    assert client.delete(f"/tasks/{task['id']}").status_code == 404


def test_openapi_declares_the_errors_of_each_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/tasks"]["post"]["responses"]) >= {"201", "422"}
    assert set(paths["/tasks"]["get"]["responses"]) >= {"200", "422"}
    item = paths["/tasks/{task_id}"]
    assert set(item["get"]["responses"]) >= {"200", "404", "422"}
    assert set(item["put"]["responses"]) >= {"200", "404", "422"}
    assert set(item["delete"]["responses"]) >= {"204", "404", "422"}
    task_schema = item["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert task_schema["$ref"].startswith("#/components/schemas/")


def test_an_id_is_never_given_twice(client: TestClient) -> None:
    create(client, title="first")
    newest = create(client, title="newest")
    assert client.delete(f"/tasks/{newest['id']}").status_code == 204
    after = create(client, title="after")
    assert after["id"] > newest["id"]
    assert client.get(f"/tasks/{newest['id']}").status_code == 404
