"""The checkers of the exercises at the end of each step's page (shared/exercises.py).

Each test is marked with its exercise and left out of the contract run: it
fails on the step as shipped and passes once the exercise is done. Run one
exercise's checker on your practice copy with `make check STEP=N
EXERCISE=name`, or on any app with APP= and APP_DIR= as for `make check`.
tests/tutorial/test_practice.py proves every checker against the step and its solution.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from shared.catalog import ROOT, Step
from tests.support import apps, auth, engines, migrations

# Rows as a database held them before an exercise's migration.
OLD_TASK = "INSERT INTO tasks (title, description, completed) VALUES ('old', '', false)"
OLD_USER = "INSERT INTO users (username, email, role) VALUES ('old', 'old@x.org', 'member')"


def written_before_the_new_migration(step: Step, url: str, insert: str) -> None:
    """The database at `url` one revision behind head, `insert` run there, then at head again.

    How an exercise's new migration meets rows that existed before it.
    """
    migrations.upgrade(step, url)
    migrations.downgrade(step, url, "-1")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(insert))
    finally:
        engine.dispose()
    migrations.upgrade(step, url)


def create_task(client: TestClient, title: str, **fields) -> dict:
    response = client.post("/tasks", json={"title": title, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def task_titles(client: TestClient, **params) -> list[str]:
    response = client.get("/tasks", params=params)
    assert response.status_code == 200, response.text
    return [task["title"] for task in response.json()]


def create_user(client: TestClient, username: str) -> dict:
    response = client.post(
        "/users", json={"username": username, "email": f"{username}@example.com"}
    )
    assert response.status_code == 201, response.text
    return response.json()


def create_post(client: TestClient, author: dict, title: str) -> dict:
    response = client.post(f"/users/{author['id']}/posts", json={"title": title, "content": "…"})
    assert response.status_code == 201, response.text
    return response.json()


# --- step 1: task_search ----------------------------------------------------------


@pytest.fixture
def groceries(client: TestClient) -> list[str]:
    titles = ["Buy milk", "Walk the dog", "MILKSHAKE for Ada", "Call Bob", "Oat milk too"]
    for title in titles:
        create_task(client, title)
    return titles


@pytest.mark.usefixtures("groceries")
@pytest.mark.parametrize("q", ["milk", "MILK", "Milk"])
@pytest.mark.exercise(name="task_search")
@pytest.mark.requires("tasks")
def test_q_keeps_the_tasks_whose_title_contains_it_in_any_case(client: TestClient, q: str) -> None:
    """GET /tasks?q=milk: only the tasks whose title contains q, ignoring case."""
    assert task_titles(client, q=q) == ["Buy milk", "MILKSHAKE for Ada", "Oat milk too"]


@pytest.mark.exercise(name="task_search")
@pytest.mark.requires("tasks")
def test_without_q_every_task_is_listed(client: TestClient, groceries: list[str]) -> None:
    """GET /tasks without q lists every task, as before."""
    assert task_titles(client) == groceries


@pytest.mark.usefixtures("groceries")
@pytest.mark.exercise(name="task_search")
@pytest.mark.requires("tasks")
def test_skip_and_limit_page_through_the_matches(client: TestClient) -> None:
    """skip and limit apply after the search: they page through the matches."""
    assert task_titles(client, q="milk", skip=1, limit=1) == ["MILKSHAKE for Ada"]
    assert task_titles(client, q="nothing like it") == []


# --- step 1: task_count -----------------------------------------------------------


def listed(client: TestClient, **params) -> tuple[list[str], str | None]:
    """The titles GET /tasks lists, and its X-Total-Count header."""
    response = client.get("/tasks", params=params)
    assert response.status_code == 200, response.text
    return [task["title"] for task in response.json()], response.headers.get("x-total-count")


@pytest.mark.exercise(name="task_count")
@pytest.mark.requires("tasks")
def test_x_total_count_counts_every_task_not_the_page(client: TestClient) -> None:
    """GET /tasks says in X-Total-Count how many tasks there are in all, whatever the page."""
    assert listed(client) == ([], "0")
    for n in range(5):
        create_task(client, f"task {n}")
    assert listed(client, limit=2) == (["task 0", "task 1"], "5")
    assert listed(client, skip=4) == (["task 4"], "5")
    assert listed(client, skip=10) == ([], "5")


@pytest.mark.exercise(name="task_count")
@pytest.mark.requires("tasks")
def test_x_total_count_follows_creations_and_deletions(client: TestClient) -> None:
    """The count is today's: a deleted task no longer counts."""
    first, _ = create_task(client, "one"), create_task(client, "two")
    assert listed(client)[1] == "2"
    assert client.delete(f"/tasks/{first['id']}").status_code == 204
    assert listed(client) == (["two"], "1")


# --- step 1: task_sort ------------------------------------------------------------


@pytest.fixture
def unsorted(client: TestClient) -> None:
    for title in ["walk the dog", "buy milk", "call bob", "answer mail"]:
        create_task(client, title)


@pytest.mark.usefixtures("unsorted")
@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("title", ["answer mail", "buy milk", "call bob", "walk the dog"]),
        ("-title", ["walk the dog", "call bob", "buy milk", "answer mail"]),
        ("-id", ["answer mail", "call bob", "buy milk", "walk the dog"]),
        ("id", ["walk the dog", "buy milk", "call bob", "answer mail"]),
    ],
)
@pytest.mark.exercise(name="task_sort")
@pytest.mark.requires("tasks")
def test_sort_orders_the_tasks_by_id_or_title_either_way(
    client: TestClient, sort: str, expected: list[str]
) -> None:
    """GET /tasks?sort=title: by title; a leading - reverses it (sort=-id: newest first)."""
    assert task_titles(client, sort=sort) == expected


@pytest.mark.usefixtures("unsorted")
@pytest.mark.exercise(name="task_sort")
@pytest.mark.requires("tasks")
def test_skip_and_limit_page_through_the_sorted_tasks(client: TestClient) -> None:
    """The page is cut from the sorted list: sort=-id&limit=2 is the two newest tasks."""
    assert task_titles(client, sort="-id", limit=2) == ["answer mail", "call bob"]
    assert task_titles(client, sort="title", skip=3) == ["walk the dog"]
    assert task_titles(client) == ["walk the dog", "buy milk", "call bob", "answer mail"]


@pytest.mark.parametrize("sort", ["completed", "name", "--id", "TITLE"])
@pytest.mark.exercise(name="task_sort")
@pytest.mark.requires("tasks")
def test_a_sort_key_it_does_not_know_is_422(client: TestClient, sort: str) -> None:
    """sort=name is a 422 that says so, not a list in some order."""
    response = client.get("/tasks", params={"sort": sort})
    assert response.status_code == 422, response.text


# --- step 2: completed_filter -----------------------------------------------------


@pytest.fixture
def chores(client: TestClient) -> None:
    for n, completed in enumerate([True, False, True, False, True]):
        create_task(client, f"chore {n}", completed=completed)


@pytest.mark.usefixtures("chores")
@pytest.mark.exercise(name="completed_filter")
@pytest.mark.requires("persistent")
def test_completed_true_or_false_keeps_those_tasks_only(client: TestClient) -> None:
    """GET /tasks?completed=true: the completed tasks only; completed=false: the open ones."""
    assert task_titles(client, completed="true") == ["chore 0", "chore 2", "chore 4"]
    assert task_titles(client, completed="false") == ["chore 1", "chore 3"]
    assert len(task_titles(client)) == 5


@pytest.mark.usefixtures("chores")
@pytest.mark.exercise(name="completed_filter")
@pytest.mark.requires("persistent")
def test_the_filter_runs_before_skip_and_limit(client: TestClient) -> None:
    """skip and limit page through the filtered tasks, not through all of them."""
    assert task_titles(client, completed="true", skip=1, limit=1) == ["chore 2"]


@pytest.mark.exercise(name="completed_filter")
@pytest.mark.requires("persistent")
def test_completed_that_is_not_a_boolean_is_422(client: TestClient) -> None:
    """completed=maybe is a 422, not an empty list."""
    assert client.get("/tasks", params={"completed": "maybe"}).status_code == 422


# --- step 2: clear_completed ------------------------------------------------------


@pytest.mark.usefixtures("chores")
@pytest.mark.exercise(name="clear_completed")
@pytest.mark.requires("persistent")
def test_delete_tasks_completed_deletes_those_and_counts_them(client: TestClient) -> None:
    """DELETE /tasks/completed deletes every completed task and says how many: the open stay."""
    ids = [task["id"] for task in client.get("/tasks").json()]
    response = client.delete("/tasks/completed")
    assert response.status_code == 200, response.text
    assert response.json() == {"deleted": 3}
    assert task_titles(client) == ["chore 1", "chore 3"]
    assert client.get(f"/tasks/{ids[0]}").status_code == 404


@pytest.mark.exercise(name="clear_completed")
@pytest.mark.requires("persistent")
def test_with_nothing_completed_nothing_is_deleted(client: TestClient) -> None:
    """With no completed task, it deletes nothing (and says so); done twice, the same."""
    create_task(client, "open")
    for _ in range(2):
        response = client.delete("/tasks/completed")
        assert response.status_code == 200, response.text
        assert response.json() == {"deleted": 0}
    assert task_titles(client) == ["open"]


# --- step 2: task_done_at ---------------------------------------------------------


def done_at(task: dict) -> datetime | None:
    """The task's done_at, as a client reads it (an ISO 8601 time, UTC unless it says)."""
    assert "done_at" in task, task
    if task["done_at"] is None:
        return None
    when = datetime.fromisoformat(task["done_at"])
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def just_now(when: datetime | None) -> bool:
    return when is not None and abs(datetime.now(UTC) - when) < timedelta(minutes=1)


@pytest.mark.exercise(name="task_done_at")
@pytest.mark.requires("persistent")
def test_done_at_is_when_a_task_was_created_completed_else_null(client: TestClient) -> None:
    """A new task has done_at null, or the time of its creation if it is created completed."""
    assert done_at(create_task(client, "open")) is None
    assert just_now(done_at(create_task(client, "done", completed=True)))
    # The client cannot set it.
    sneaky = create_task(client, "sneaky", done_at="2000-01-01T00:00:00Z")
    assert done_at(sneaky) is None


@pytest.mark.exercise(name="task_done_at")
@pytest.mark.requires("persistent")
def test_done_at_is_set_when_completed_kept_after_and_cleared_when_reopened(
    client: TestClient,
) -> None:
    """PUT with completed: done_at is set, and kept by later PUTs; reopened, it is null again."""
    task = create_task(client, "chore")
    path = f"/tasks/{task['id']}"

    def put(**fields) -> dict:
        response = client.put(path, json={"title": "chore", **fields})
        assert response.status_code == 200, response.text
        return response.json()

    completed = done_at(put(completed=True))
    assert just_now(completed)
    assert done_at(put(completed=True, description="still done")) == completed
    assert done_at(client.get(path).json()) == completed
    assert done_at(put(completed=False)) is None
    assert done_at(client.get("/tasks").json()[0]) is None


# --- step 3: user_by_username -----------------------------------------------------


@pytest.mark.exercise(name="user_by_username")
@pytest.mark.requires("users")
def test_a_user_is_found_by_username(client: TestClient) -> None:
    """GET /users/by-username/{username} returns that user, as GET /users/{id} does."""
    create_user(client, "alice")
    bob = create_user(client, "bob")
    response = client.get("/users/by-username/bob")
    assert response.status_code == 200, response.text
    assert response.json() == client.get(f"/users/{bob['id']}").json()


@pytest.mark.exercise(name="user_by_username")
@pytest.mark.requires("users")
def test_an_unknown_username_is_404(client: TestClient) -> None:
    """An unknown username is a 404 "User not found"."""
    create_user(client, "alice")
    response = client.get("/users/by-username/nobody")
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found"}


# --- step 3: user_email_search ----------------------------------------------------


def create_user_with(client: TestClient, username: str, email: str, **fields) -> dict:
    response = client.post("/users", json={"username": username, "email": email, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def usernames(client: TestClient, **params) -> list[str]:
    response = client.get("/users", params=params)
    assert response.status_code == 200, response.text
    return [user["username"] for user in response.json()]


@pytest.fixture
def mailboxes(client: TestClient) -> None:
    create_user_with(client, "ada", "ada@Example.org")
    create_user_with(client, "bob", "bob@mail.example.net")
    create_user_with(client, "cy", "cy_1@example.org")
    create_user_with(client, "dee", "dee1@EXAMPLE.ORG")


@pytest.mark.usefixtures("mailboxes")
@pytest.mark.exercise(name="user_email_search")
@pytest.mark.requires("users")
def test_email_keeps_the_users_whose_email_contains_it_in_any_case(client: TestClient) -> None:
    """GET /users?email=example.org: the users whose email contains it, ignoring case, by id."""
    assert usernames(client, email="example.org") == ["ada", "cy", "dee"]
    assert usernames(client, email="BOB@") == ["bob"]
    assert usernames(client, email="nobody.example") == []
    assert usernames(client) == ["ada", "bob", "cy", "dee"]


@pytest.mark.usefixtures("mailboxes")
@pytest.mark.exercise(name="user_email_search")
@pytest.mark.requires("users")
def test_email_search_escapes_wildcards_and_pages(client: TestClient) -> None:
    """A _ or % in the search matches itself; skip and limit page through the matches."""
    assert usernames(client, email="_") == ["cy"]
    assert usernames(client, email="%") == []
    assert usernames(client, email="example.org", skip=1, limit=1) == ["cy"]


# --- step 3: users_csv ------------------------------------------------------------


def exported(client: TestClient) -> list[dict[str, str]]:
    """GET /users/export.csv, read as a client's CSV reader reads it."""
    response = client.get("/users/export.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers.get("content-disposition", "")
    assert 'filename="users.csv"' in response.headers.get("content-disposition", "")
    reader = csv.DictReader(io.StringIO(response.text, newline=""))
    assert reader.fieldnames == ["id", "username", "email", "full_name"]
    return list(reader)


@pytest.mark.exercise(name="users_csv")
@pytest.mark.requires("users")
def test_the_export_has_a_header_row_even_without_users(client: TestClient) -> None:
    """GET /users/export.csv with no user: the header row, and nothing else."""
    assert exported(client) == []


@pytest.mark.exercise(name="users_csv")
@pytest.mark.requires("users")
def test_the_export_has_one_row_per_user_quoted_as_csv_needs(client: TestClient) -> None:
    """One row per user, by id; a comma, a quote or a line break in a value survives."""
    ada = create_user_with(client, "ada", "ada@example.org", full_name='Lovelace, Ada "A."')
    bob = create_user_with(client, "bob", "bob@example.org")
    assert exported(client) == [
        {
            "id": str(ada["id"]),
            "username": "ada",
            "email": "ada@example.org",
            "full_name": 'Lovelace, Ada "A."',
        },
        {"id": str(bob["id"]), "username": "bob", "email": "bob@example.org", "full_name": ""},
    ]


@pytest.mark.exercise(name="users_csv")
@pytest.mark.requires("users")
def test_the_export_holds_every_user_not_a_page(client: TestClient) -> None:
    """More users than a page of GET /users holds: every one of them is exported."""
    for n in range(120):
        create_user(client, f"user{n:03}")
    rows = exported(client)
    assert [row["username"] for row in rows] == [f"user{n:03}" for n in range(120)]


# --- step 4: post_search ----------------------------------------------------------


@pytest.fixture
def alice_and_bob_posts(client: TestClient) -> dict:
    alice, bob = create_user(client, "alice"), create_user(client, "bob")
    for title in ["Hello world", "100% sure", "WORLD news", "snake_case", "Other worlds"]:
        create_post(client, alice, title)
    create_post(client, bob, "Bob's world")
    return alice


def post_titles(client: TestClient, path: str, **request) -> list[str]:
    """The titles of the posts a GET of `path` lists, in order."""
    response = client.get(path, **request)
    assert response.status_code == 200, response.text
    return [post["title"] for post in response.json()]


def searched(client: TestClient, user: dict, **params) -> list[str]:
    return post_titles(client, f"/users/{user['id']}/posts", params=params)


@pytest.mark.exercise(name="post_search")
@pytest.mark.requires("posts")
def test_q_keeps_that_users_posts_whose_title_contains_it(
    client: TestClient, alice_and_bob_posts: dict
) -> None:
    """GET /users/{id}/posts?q=world: that user's posts whose title has q, in any case, by id."""
    found = searched(client, alice_and_bob_posts, q="world")
    assert found == ["Hello world", "WORLD news", "Other worlds"]
    assert len(searched(client, alice_and_bob_posts)) == 5


@pytest.mark.exercise(name="post_search")
@pytest.mark.requires("posts")
def test_percent_and_underscore_in_q_match_themselves(
    client: TestClient, alice_and_bob_posts: dict
) -> None:
    """A % or _ in q matches that character, not any text (LIKE's wildcards are escaped)."""
    assert searched(client, alice_and_bob_posts, q="100%") == ["100% sure"]
    assert searched(client, alice_and_bob_posts, q="_") == ["snake_case"]


@pytest.mark.exercise(name="post_search")
@pytest.mark.requires("posts")
def test_skip_and_limit_page_through_the_found_posts(
    client: TestClient, alice_and_bob_posts: dict
) -> None:
    """skip and limit page through the posts found, not through all of them."""
    assert searched(client, alice_and_bob_posts, q="world", skip=1, limit=1) == ["WORLD news"]


# --- step 4: post_author ----------------------------------------------------------


@pytest.mark.exercise(name="post_author")
@pytest.mark.requires("posts")
def test_a_post_is_read_with_its_author(client: TestClient) -> None:
    """GET /posts/{post_id}: the post, with its author as GET /users/{user_id} lists users."""
    create_user(client, "alice")
    bob = create_user(client, "bob")
    post = create_post(client, bob, "Hello")
    response = client.get(f"/posts/{post['id']}")
    assert response.status_code == 200, response.text
    read = response.json()
    assert read.get("author") == client.get("/users", params={"skip": 1}).json()[0] == bob
    assert {key: value for key, value in read.items() if key != "author"} == post


@pytest.mark.exercise(name="post_author")
@pytest.mark.requires("posts")
def test_the_author_follows_a_change_of_the_user(client: TestClient) -> None:
    """The author is read with the post, not copied into it: a renamed author reads renamed."""
    ada = create_user(client, "ada")
    post = create_post(client, ada, "Notes")
    response = client.patch(f"/users/{ada['id']}", json={"username": "countess"})
    assert response.status_code == 200, response.text
    assert client.get(f"/posts/{post['id']}").json().get("author", {}).get("username") == (
        "countess"
    )
    assert client.get("/posts/999999").status_code == 404


# --- step 4: posts_by_author ------------------------------------------------------


@pytest.mark.exercise(name="posts_by_author")
@pytest.mark.requires("posts")
def test_author_keeps_the_posts_of_that_username(
    client: TestClient, alice_and_bob_posts: dict
) -> None:
    """GET /posts?author=bob: bob's posts only, by id; an unknown username finds none."""
    assert post_titles(client, "/posts", params={"author": "bob"}) == ["Bob's world"]
    assert len(post_titles(client, "/posts", params={"author": "alice"})) == 5
    assert post_titles(client, "/posts", params={"author": "nobody"}) == []
    assert len(post_titles(client, "/posts")) == 6


@pytest.mark.exercise(name="posts_by_author")
@pytest.mark.requires("posts")
def test_skip_and_limit_page_through_that_authors_posts(
    client: TestClient, alice_and_bob_posts: dict
) -> None:
    """skip and limit page through the author's posts, not through every post."""
    carol = create_user(client, "carol")
    create_post(client, carol, "first of carol")
    create_post(client, carol, "second of carol")
    found = post_titles(client, "/posts", params={"author": "carol", "skip": 1, "limit": 1})
    assert found == ["second of carol"]


# --- step 5: task_priority --------------------------------------------------------


@pytest.mark.exercise(name="task_priority")
@pytest.mark.requires("migrations")
def test_a_task_has_a_priority_of_3_unless_told(client: TestClient) -> None:
    """A task has a priority: 3 unless the body gives one from 1 to 5; PUT changes it."""
    assert create_task(client, "Someday").get("priority") == 3
    urgent = create_task(client, "Now", priority=1)
    assert urgent.get("priority") == 1
    assert client.get(f"/tasks/{urgent['id']}").json().get("priority") == 1
    response = client.put(f"/tasks/{urgent['id']}", json={"title": "Now", "priority": 5})
    assert response.status_code == 200, response.text
    assert response.json().get("priority") == 5


@pytest.mark.parametrize("priority", [0, 6, -1, "high"])
@pytest.mark.exercise(name="task_priority")
@pytest.mark.requires("migrations")
def test_a_priority_out_of_1_to_5_is_422(client: TestClient, priority: object) -> None:
    """A priority outside 1 to 5 is a 422, and creates nothing."""
    response = client.post("/tasks", json={"title": "Odd", "priority": priority})
    assert response.status_code == 422
    assert task_titles(client) == []


@pytest.mark.backends("sqlite")
@pytest.mark.exercise(name="task_priority")
@pytest.mark.requires("migrations")
def test_the_migration_gives_existing_tasks_priority_3(
    step: Step, backend: str, empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new migration adds the priority: tasks written before it read back with 3."""
    url = empty_database_url
    written_before_the_new_migration(step, url, OLD_TASK)
    with TestClient(apps.load(step, url, monkeypatch)) as client:
        [task] = client.get("/tasks").json()
    assert task.get("priority") == 3
    # Nothing left for autogenerate: the models and the new head agree.
    migrations.run(step, url, "check")


# --- step 5: post_title_unique ----------------------------------------------------


def post_as(client: TestClient, author: dict, title: str) -> object:
    return client.post(f"/users/{author['id']}/posts", json={"title": title, "content": "…"})


@pytest.mark.exercise(name="post_title_unique")
@pytest.mark.requires("migrations")
def test_an_author_cannot_post_the_same_title_twice(client: TestClient) -> None:
    """A second post with a title its author has used already is a 409; another author may."""
    alice, bob = create_user(client, "alice"), create_user(client, "bob")
    create_post(client, alice, "Hello")
    again = post_as(client, alice, "Hello")
    assert again.status_code == 409, again.text
    assert again.json() == {"detail": "Title already used"}
    assert post_as(client, bob, "Hello").status_code == 201
    assert post_as(client, alice, "hello").status_code == 201  # another title
    assert post_titles(client, f"/users/{alice['id']}/posts") == ["Hello", "hello"]


@pytest.mark.exercise(name="post_title_unique")
@pytest.mark.requires("migrations")
def test_renaming_a_post_to_a_title_its_author_used_is_409(client: TestClient) -> None:
    """PATCH to a title the author's other post has is a 409; its own title is no conflict."""
    alice = create_user(client, "alice")
    create_post(client, alice, "First")
    second = create_post(client, alice, "Second")
    path = f"/posts/{second['id']}"
    taken = client.patch(path, json={"title": "First"})
    assert taken.status_code == 409, taken.text
    assert taken.json() == {"detail": "Title already used"}
    assert client.get(path).json()["title"] == "Second"
    assert client.patch(path, json={"title": "Second", "content": "new"}).status_code == 200
    assert client.patch(path, json={"title": "Third"}).status_code == 200


@pytest.mark.backends("sqlite")
@pytest.mark.exercise(name="post_title_unique")
@pytest.mark.requires("migrations")
def test_the_database_refuses_a_duplicate_title_after_the_migration(
    step: Step, backend: str, empty_database_url: str
) -> None:
    """A new migration adds the unique constraint: the database refuses a duplicate itself."""
    url = empty_database_url
    migrations.upgrade(step, url)
    migrations.run(step, url, "check")  # the models and the new head agree
    engine = create_engine(url)
    insert = text(
        "INSERT INTO posts (title, content, user_id, date_posted) VALUES ('t', 'c', 1, :now)"
    )
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO users (username, email, role) VALUES ('a', 'a@x.org', 'member')")
            )
            connection.execute(insert, {"now": datetime.now(UTC)})
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(insert, {"now": datetime.now(UTC)})
    finally:
        engine.dispose()
    # And it can be undone: down to nothing, and up again.
    migrations.downgrade(step, url, "base")
    migrations.upgrade(step, url)


# --- step 5: task_soft_delete -----------------------------------------------------


@pytest.mark.exercise(name="task_soft_delete")
@pytest.mark.requires("migrations")
def test_a_deleted_task_is_gone_for_every_route(client: TestClient) -> None:
    """A deleted task is a 404 for GET, PUT and DELETE, and no list or page shows it."""
    _, second, third = (create_task(client, title) for title in ("one", "two", "three"))
    path = f"/tasks/{second['id']}"
    assert client.delete(path).status_code == 204
    for answer in (client.get(path), client.put(path, json={"title": "back"}), client.delete(path)):
        assert answer.status_code == 404, answer.text
        assert answer.json() == {"detail": "Task not found"}
    assert task_titles(client) == ["one", "three"]
    assert task_titles(client, skip=1) == ["three"]
    assert client.get(f"/tasks/{third['id']}").json() == third


@pytest.mark.exercise(name="task_soft_delete")
@pytest.mark.requires("migrations")
def test_a_deleted_task_stays_in_the_table_with_when_it_was_deleted(
    client: TestClient, step: Step
) -> None:
    """DELETE keeps the row and sets its deleted_at; the other tasks keep theirs null."""
    kept, deleted = create_task(client, "kept"), create_task(client, "deleted")
    assert client.delete(f"/tasks/{deleted['id']}").status_code == 204
    engine = apps.module_of(step, "database").engine
    assert engines.scalar(engine, "SELECT count(*) FROM tasks") == 2
    when = f"SELECT deleted_at FROM tasks WHERE id = {deleted['id']}"
    assert engines.scalar(engine, when) is not None
    assert engines.scalar(engine, f"SELECT deleted_at FROM tasks WHERE id = {kept['id']}") is None


@pytest.mark.backends("sqlite")
@pytest.mark.exercise(name="task_soft_delete")
@pytest.mark.requires("migrations")
def test_the_migration_keeps_existing_tasks_undeleted(
    step: Step, backend: str, empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new migration adds tasks.deleted_at: tasks written before it are still listed."""
    url = empty_database_url
    written_before_the_new_migration(step, url, OLD_TASK)
    assert "deleted_at" in migrations.column_names(url, "tasks")
    with TestClient(apps.load(step, url, monkeypatch)) as client:
        assert task_titles(client) == ["old"]
    # Nothing left for autogenerate: the models and the new head agree.
    migrations.run(step, url, "check")


# --- step 5: task_done_test -------------------------------------------------------

# Where the learner writes the test: in the judged app's folder (their practice copy).
WRITTEN_TEST = Path("tests", "test_done.py")
# By version ("right", "broken"): each test, and why it failed (None if it passed).
Outcomes = dict[str, dict[str, str | None]]


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


@functools.cache
def run_written_test(path: Path, text: str) -> tuple[str | None, Outcomes]:
    """The learner's test file run by pytest against the right and the broken endpoint
    (tests/tutorial/done_endpoints.py): why it could not run, or each test's outcome."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "outcomes.json"
        command = [sys.executable, "-m", "pytest", str(path), f"--rootdir={ROOT}"]
        command += [f"--config-file={ROOT / 'pyproject.toml'}", f"--done-report={report}"]
        command += ["-p", "tests.tutorial.done_endpoints", "-p", "no:cacheprovider"]
        command += ["-p", "no:cov", "-p", "no:hypothesispytest", "-p", "no:schemathesis"]
        # The learner's warnings are advice, as the judged app's are: not failures.
        command += ["-q", "--no-header", "--tb=line", "-W", "default"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        result = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        outcomes = json.loads(report.read_text()) if report.exists() else {}
    error = outcomes.pop("collection_error", None)
    if error:
        return f"{shown(path)} does not run: {error}", {}
    if result.returncode == 5:
        return f"no test in {shown(path)}: a test is a function named test_...", {}
    if result.returncode not in (0, 1) or not outcomes:
        said = (result.stdout.strip() or result.stderr.strip()).splitlines()
        return f"pytest could not run {shown(path)}: {said[-1] if said else 'no output'}", {}
    return None, outcomes


def written_test_outcomes(step: Step, version: str) -> dict[str, str | None]:
    """Each of the learner's tests against one version of the endpoint: None if it passed,
    else why it failed. A rule fails (AssertionError: the judge shows its text) when the
    test is not written yet or does not run."""
    path = step.path / WRITTEN_TEST
    if not path.is_file():
        raise AssertionError(f"no test yet: write yours in {shown(path)}")
    problem, outcomes = run_written_test(path, path.read_text())
    if problem:
        raise AssertionError(problem)
    return outcomes[version]


@pytest.mark.exercise(name="task_done_test")
@pytest.mark.requires("migrations")
def test_your_test_passes_when_the_endpoint_is_right(step: Step) -> None:
    """tests/test_done.py in the copy passes against a POST /tasks/{task_id}/done that
    marks the task completed and answers when."""
    outcomes = written_test_outcomes(step, "right")
    failed = [(test, why) for test, why in outcomes.items() if why is not None]
    if failed:
        test, why = failed[0]
        raise AssertionError(f"{test.rpartition('::')[2]} fails on the right endpoint: {why}")


@pytest.mark.exercise(name="task_done_test")
@pytest.mark.requires("migrations")
def test_your_test_fails_when_the_endpoint_is_broken(step: Step) -> None:
    """tests/test_done.py in the copy fails against a POST /tasks/{task_id}/done that
    answers as the right one does but saves nothing: a test that asserts nothing, or
    not what the endpoint promises, passes there too."""
    outcomes = written_test_outcomes(step, "broken")
    if all(why is None for why in outcomes.values()):
        tests = "your test passes" if len(outcomes) == 1 else "each of your tests passes"
        raise AssertionError(f"{tests} on a broken endpoint too: none checks what it gets wrong")


# --- step 6: my_posts -------------------------------------------------------------


@pytest.fixture
def alice_with_posts(client: TestClient) -> dict:
    alice, bob = auth.sign_up(client, "alice"), auth.sign_up(client, "bob")
    for n in range(3):
        create_post(client, alice, f"alice {n}")
        create_post(client, bob, f"bob {n}")
    return alice


def my_posts(client: TestClient, me: dict, **params) -> list[str]:
    return post_titles(client, "/users/me/posts", params=params, headers=auth.headers_for(me))


@pytest.mark.exercise(name="my_posts")
@pytest.mark.requires("auth")
def test_my_posts_are_the_posts_of_the_user_of_the_token(
    client: TestClient, alice_with_posts: dict
) -> None:
    """GET /users/me/posts with a token: that user's posts, by id, and no one else's."""
    assert my_posts(client, alice_with_posts) == ["alice 0", "alice 1", "alice 2"]


@pytest.mark.exercise(name="my_posts")
@pytest.mark.requires("auth")
def test_my_posts_page_with_skip_and_limit(client: TestClient, alice_with_posts: dict) -> None:
    """GET /users/me/posts pages with skip and limit, as every list does."""
    assert my_posts(client, alice_with_posts, skip=1, limit=1) == ["alice 1"]


@pytest.mark.parametrize("token", [None, "not-a-token"])
@pytest.mark.exercise(name="my_posts")
@pytest.mark.requires("auth")
def test_my_posts_without_a_valid_token_is_401(
    client: TestClient, alice_with_posts: dict, token: str | None
) -> None:
    """GET /users/me/posts without a valid token is a 401 that asks for a Bearer token."""
    headers = auth.bearer(token) if token else {}
    response = client.get("/users/me/posts", headers=headers)
    assert response.status_code == 401
    assert response.headers.get("www-authenticate") == "Bearer"


# --- step 6: emails_for_admins ----------------------------------------------------


def emails_seen(client: TestClient, path: str, headers: dict[str, str]) -> dict[str, str | None]:
    """Each username GET `path` shows (a user or a list of them), with its email or None."""
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    read = response.json()
    users = read if isinstance(read, list) else [read]
    return {user["username"]: user.get("email") for user in users}


@pytest.mark.exercise(name="emails_for_admins")
@pytest.mark.requires("auth")
def test_only_an_admin_lists_the_emails(client: TestClient, step: Step) -> None:
    """GET /users shows the emails to an admin only: not to a member, not to anyone."""
    alice, bob = auth.sign_up(client, "alice"), auth.sign_up(client, "bob")
    admin = auth.make_admin(step, client, "root")
    hidden = {"alice": None, "bob": None, "root": None}
    assert emails_seen(client, "/users", {}) == hidden
    assert emails_seen(client, "/users", auth.headers_for(alice)) == hidden
    assert emails_seen(client, "/users", auth.headers_for(bob)) == hidden
    assert emails_seen(client, "/users", auth.headers_for(admin)) == {
        "alice": "alice@example.com",
        "bob": "bob@example.com",
        "root": "root@example.com",
    }


@pytest.mark.exercise(name="emails_for_admins")
@pytest.mark.requires("auth")
def test_a_users_email_is_read_by_that_user_and_the_admins(client: TestClient, step: Step) -> None:
    """GET /users/{id} shows the email to that user and to an admin; GET /users/me, yours."""
    alice, bob = auth.sign_up(client, "alice"), auth.sign_up(client, "bob")
    admin = auth.make_admin(step, client, "root")
    path = f"/users/{alice['id']}"
    assert emails_seen(client, path, {}) == {"alice": None}
    assert emails_seen(client, path, auth.headers_for(bob)) == {"alice": None}
    assert emails_seen(client, path, auth.headers_for(alice)) == {"alice": "alice@example.com"}
    assert emails_seen(client, path, auth.headers_for(admin)) == {"alice": "alice@example.com"}
    assert emails_seen(client, "/users/me", auth.headers_for(bob)) == {"bob": "bob@example.com"}
    assert client.get(path).json()["posts"] == []


# --- step 6: user_disabled --------------------------------------------------------


def set_disabled(client: TestClient, user: dict, by: dict, disabled: object):
    return client.patch(
        f"/users/{user['id']}", json={"disabled": disabled}, headers=auth.headers_for(by)
    )


@pytest.mark.exercise(name="user_disabled")
@pytest.mark.requires("auth")
def test_only_an_admin_disables_a_user(client: TestClient, step: Step) -> None:
    """A user reads "disabled": false; only an admin may set it (403 for the user themselves)."""
    alice = auth.sign_up(client, "alice")
    admin = auth.make_admin(step, client, "root")
    assert alice.get("disabled") is False
    refused = set_disabled(client, alice, alice, True)
    assert refused.status_code == 403, refused.text
    assert set_disabled(client, alice, admin, None).status_code == 422
    disabled = set_disabled(client, alice, admin, True)
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled"] is True
    assert client.get(f"/users/{alice['id']}").json()["disabled"] is True


@pytest.mark.exercise(name="user_disabled")
@pytest.mark.requires("auth")
def test_a_disabled_user_cannot_log_in_and_their_tokens_stop_working(
    client: TestClient, step: Step
) -> None:
    """Disabled: the right password gets 403, a wrong one the usual 401, any token 403."""
    alice = auth.sign_up(client, "alice")
    admin = auth.make_admin(step, client, "root")
    token = auth.bearer(auth.log_in(client, "alice"))
    assert set_disabled(client, alice, admin, True).status_code == 200

    right = client.post("/auth/token", data={"username": "alice", "password": auth.PASSWORD})
    assert right.status_code == 403, right.text
    assert right.json() == {"detail": "User is disabled"}
    wrong = client.post("/auth/token", data={"username": "alice", "password": "not hers!"})
    assert wrong.status_code == 401, wrong.text
    for answer in (
        client.get("/users/me", headers=token),
        client.patch(f"/users/{alice['id']}", json={"full_name": "A"}, headers=token),
    ):
        assert answer.status_code == 403, answer.text
        assert answer.json() == {"detail": "User is disabled"}

    assert set_disabled(client, alice, admin, False).status_code == 200
    assert client.get("/users/me", headers=token).status_code == 200
    auth.log_in(client, "alice")


@pytest.mark.backends("sqlite")
@pytest.mark.exercise(name="user_disabled")
@pytest.mark.requires("auth")
def test_the_migration_leaves_existing_users_enabled(
    step: Step, backend: str, empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new migration adds users.disabled: users written before it read back enabled."""
    url = empty_database_url
    written_before_the_new_migration(step, url, OLD_USER)
    with TestClient(apps.load(step, url, monkeypatch)) as client:
        [user] = client.get("/users").json()
    assert user.get("disabled") is False
    migrations.run(step, url, "check")


# --- step 7: authors --------------------------------------------------------------


def authors(client: TestClient, **params) -> list[dict]:
    response = client.get("/authors", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def add_authors(client: TestClient, *names: str) -> None:
    for name in names:
        author = create_user(client, name)
        for n in range(2):
            create_post(client, author, f"{name} {n}")


@pytest.mark.exercise(name="authors")
@pytest.mark.requires("async")
def test_authors_lists_every_user_with_their_posts(client: TestClient) -> None:
    """GET /authors: every user, by id, each with all of their posts."""
    add_authors(client, "ada", "bob")
    create_user(client, "cy")  # no posts yet
    listed = [(a["username"], [p["title"] for p in a["posts"]]) for a in authors(client)]
    assert listed == [("ada", ["ada 0", "ada 1"]), ("bob", ["bob 0", "bob 1"]), ("cy", [])]


@pytest.mark.exercise(name="authors")
@pytest.mark.requires("async")
def test_authors_page_through_users_not_posts(client: TestClient) -> None:
    """skip and limit page through the authors; each keeps all of their posts."""
    add_authors(client, "ada", "bob", "cy")
    [bob] = authors(client, skip=1, limit=1)
    assert (bob["username"], len(bob["posts"])) == ("bob", 2)
    assert client.get("/authors", params={"limit": 101}).status_code == 422


@pytest.mark.exercise(name="authors")
@pytest.mark.requires("async")
def test_authors_take_two_queries_however_many_there_are(client: TestClient, step: Step) -> None:
    """GET /authors runs two queries, however many users and posts there are."""
    add_authors(client, "ada")
    with engines.counting_statements(step) as few:
        authors(client)
    add_authors(client, "bob", "cy", "dee")
    with engines.counting_statements(step) as many:
        assert len(authors(client)) == 4
    assert len(few) == len(many) <= 2, many


# --- step 7: posts_csv ------------------------------------------------------------


def exported_posts(client: TestClient) -> list[dict[str, str]]:
    """GET /posts/export.csv, read as a client's CSV reader reads it."""
    response = client.get("/posts/export.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="posts.csv"' in response.headers.get("content-disposition", "")
    assert "attachment" in response.headers.get("content-disposition", "")
    reader = csv.DictReader(io.StringIO(response.text, newline=""))
    assert reader.fieldnames == ["id", "author", "title", "date_posted"]
    return list(reader)


@pytest.mark.exercise(name="posts_csv")
@pytest.mark.requires("async")
def test_the_posts_export_is_one_row_per_post_with_its_author(client: TestClient) -> None:
    """GET /posts/export.csv: a header row, then each post by id with its author's username."""
    assert exported_posts(client) == []
    ada, bob = create_user(client, "ada"), create_user(client, "bob")
    posts = [
        create_post(client, bob, 'Hello, "world"'),
        create_post(client, ada, "two\nlines"),
        create_post(client, bob, "plain"),
    ]
    rows = exported_posts(client)
    assert [(row["id"], row["author"], row["title"]) for row in rows] == [
        (str(posts[0]["id"]), "bob", 'Hello, "world"'),
        (str(posts[1]["id"]), "ada", "two\nlines"),
        (str(posts[2]["id"]), "bob", "plain"),
    ]
    for row, post in zip(rows, posts, strict=True):
        exported = datetime.fromisoformat(row["date_posted"])
        assert exported.utcoffset() is not None, row  # with its offset, as the API gives it
        assert exported == datetime.fromisoformat(post["date_posted"].replace("Z", "+00:00"))


@pytest.mark.exercise(name="posts_csv")
@pytest.mark.requires("async")
def test_the_posts_export_holds_every_post_in_the_same_queries(
    client: TestClient, step: Step
) -> None:
    """Every post, not a page of them, read in as many queries for 2 posts as for 120."""
    ada = create_user(client, "ada")
    for n in range(2):
        create_post(client, ada, f"post {n:03}")
    with engines.counting_statements(step) as few:
        assert len(exported_posts(client)) == 2
    for n in range(2, 120):
        create_post(client, ada, f"post {n:03}")
    with engines.counting_statements(step) as many:
        rows = exported_posts(client)
    assert [row["title"] for row in rows] == [f"post {n:03}" for n in range(120)]
    assert len(few) == len(many) <= 2, many
    assert client.get("/posts/999999").status_code == 404  # /posts/{post_id} still answers


# --- step 7: post_tags ------------------------------------------------------------


def put_tags(client: TestClient, post: dict, names: list[str], by: dict | None):
    headers = auth.headers_for(by) if by else {}
    return client.put(f"/posts/{post['id']}/tags", json=names, headers=headers)


def tags_of(client: TestClient, post: dict) -> list[str]:
    response = client.get(f"/posts/{post['id']}/tags")
    assert response.status_code == 200, response.text
    return response.json()


def tagged(client: TestClient, name: str, **params) -> list[tuple[str, list[str]]]:
    """The posts GET /tags/{name}/posts lists: each title with its tags."""
    response = client.get(f"/tags/{name}/posts", params=params)
    assert response.status_code == 200, response.text
    return [(post["title"], post["tags"]) for post in response.json()]


@pytest.mark.exercise(name="post_tags")
@pytest.mark.requires("async")
def test_put_tags_replaces_the_tags_of_a_post(client: TestClient) -> None:
    """PUT /posts/{id}/tags gives the post exactly those tags, sorted, each once."""
    ada = create_user(client, "ada")
    post = create_post(client, ada, "Async Python")
    assert tags_of(client, post) == []
    answer = put_tags(client, post, ["python", "fastapi", "python"], by=ada)
    assert answer.status_code == 200, answer.text
    assert answer.json() == ["fastapi", "python"]
    assert tags_of(client, post) == ["fastapi", "python"]
    assert put_tags(client, post, ["asyncio", "python"], by=ada).json() == ["asyncio", "python"]
    assert tags_of(client, post) == ["asyncio", "python"]
    assert put_tags(client, post, [], by=ada).json() == []
    assert tags_of(client, post) == []


@pytest.mark.exercise(name="post_tags")
@pytest.mark.requires("async")
def test_only_the_author_or_an_admin_tags_a_post_with_valid_names(
    client: TestClient, step: Step
) -> None:
    """Tagging is the author's (or an admin's): 401, 403, 404 and 422 as for a PATCH."""
    ada, bob = create_user(client, "ada"), create_user(client, "bob")
    admin = auth.make_admin(step, client, "root")
    post = create_post(client, ada, "Hello")
    assert put_tags(client, post, ["python"], by=None).status_code == 401
    assert put_tags(client, post, ["python"], by=bob).status_code == 403
    assert put_tags(client, {"id": 999999}, ["python"], by=ada).status_code == 404
    for names in (["Not a slug!"], [""], ["x" * 31], [f"tag{n}" for n in range(11)]):
        assert put_tags(client, post, names, by=ada).status_code == 422, names
    assert tags_of(client, post) == []
    assert put_tags(client, post, ["by-admin"], by=admin).status_code == 200
    assert client.get("/posts/999999/tags").status_code == 404


@pytest.mark.exercise(name="post_tags")
@pytest.mark.requires("async")
def test_the_posts_of_a_tag_come_with_their_tags_in_two_queries(
    client: TestClient, step: Step
) -> None:
    """GET /tags/{name}/posts: its posts by id, each with its tags, however many in 2 queries."""
    ada, bob = create_user(client, "ada"), create_user(client, "bob")
    for n, (author, names) in enumerate(
        [(ada, ["python"]), (bob, ["go"]), (bob, ["python", "asyncio"]), (ada, ["python", "web"])]
    ):
        assert put_tags(
            client, create_post(client, author, f"post {n}"), names, by=author
        ).is_success
    assert tagged(client, "python") == [
        ("post 0", ["python"]),
        ("post 2", ["asyncio", "python"]),
        ("post 3", ["python", "web"]),
    ]
    assert tagged(client, "python", skip=1, limit=1) == [("post 2", ["asyncio", "python"])]
    assert tagged(client, "nothing") == []
    with engines.counting_statements(step) as few:
        tagged(client, "go")
    with engines.counting_statements(step) as many:
        assert len(tagged(client, "python")) == 3
    assert len(few) == len(many) <= 2, many


@pytest.mark.exercise(name="post_tags")
@pytest.mark.requires("async")
def test_deleting_a_post_or_its_author_unlinks_its_tags(client: TestClient) -> None:
    """A deleted post leaves its tags (ON DELETE CASCADE on the association), as its author's."""
    ada, bob = create_user(client, "ada"), create_user(client, "bob")
    first, second = create_post(client, ada, "first"), create_post(client, bob, "second")
    for post, author in ((first, ada), (second, bob)):
        assert put_tags(client, post, ["news"], by=author).status_code == 200
    assert client.delete(f"/posts/{first['id']}").status_code == 204
    assert tagged(client, "news") == [("second", ["news"])]
    assert client.delete(f"/users/{bob['id']}").status_code == 204
    assert tagged(client, "news") == []


@pytest.mark.backends("sqlite")
@pytest.mark.exercise(name="post_tags")
@pytest.mark.requires("async")
def test_a_migration_adds_the_tags_and_their_association(
    step: Step, backend: str, empty_database_url: str
) -> None:
    """A new migration makes the tables tags and post_tags, and undoes them."""
    url = empty_database_url
    migrations.upgrade(step, url)
    assert {"tags", "post_tags"} <= migrations.table_names(url)
    migrations.run(step, url, "check")  # the models and the new head agree
    migrations.downgrade(step, url, "-1")
    assert not {"tags", "post_tags"} & migrations.table_names(url)
    migrations.upgrade(step, url)


# --- step 8: ready_migrated -------------------------------------------------------


@pytest.mark.exercise(name="ready_migrated")
@pytest.mark.requires("production")
def test_ready_names_the_migrations_check(client: TestClient) -> None:
    """GET /health/ready checks the migrations too: 200 with "migrations": "ok" at head."""
    response = client.get("/health/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}


@pytest.mark.backends("sqlite")
@pytest.mark.exercise(name="ready_migrated")
@pytest.mark.requires("production")
def test_ready_is_503_while_the_database_is_behind_the_code(
    step: Step, backend: str, empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database behind the newest migration is not ready (503), and is again once migrated."""
    url = empty_database_url
    migrations.upgrade(step, url)
    with TestClient(apps.load(step, url, monkeypatch)) as client:
        migrations.downgrade(step, url, "-1")  # a deploy whose migration has not run yet
        behind = client.get("/health/ready")
        migrations.upgrade(step, url)
        migrated = client.get("/health/ready")
    assert behind.status_code == 503, behind.text
    assert behind.json()["checks"] == {"database": "ok", "migrations": "error"}
    assert migrated.status_code == 200, migrated.text


# --- step 8: process_time ---------------------------------------------------------


def process_time(response) -> float:
    """The X-Process-Time of an answer, in seconds, as a client reads it."""
    assert "x-process-time" in response.headers, dict(response.headers)
    seconds = float(response.headers["x-process-time"])
    assert 0 <= seconds < 60, seconds
    return seconds


@pytest.mark.exercise(name="process_time")
@pytest.mark.requires("production")
def test_every_answer_says_how_long_it_took(client: TestClient) -> None:
    """Every answer, an error's too, has X-Process-Time: the seconds the app took."""
    answers = [
        client.get("/"),
        client.get("/health/live"),
        client.post("/tasks", json={"title": "timed"}),
        client.get("/tasks/999999"),  # a 404
        client.post("/tasks", json={}),  # a 422
        client.get("/users/me"),  # a 401
    ]
    assert [answer.status_code for answer in answers] == [200, 200, 201, 404, 422, 401]
    for answer in answers:
        process_time(answer)


@pytest.mark.backends("sqlite")
@pytest.mark.exercise(name="process_time")
@pytest.mark.requires("production")
def test_a_page_of_an_allowed_origin_may_read_it(
    step: Step, backend: str, empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A browser shows X-Process-Time to an allowed origin's page: CORS exposes it."""
    monkeypatch.setenv("CORS_ORIGINS", "https://app.example.com")
    migrations.upgrade(step, empty_database_url)
    with TestClient(apps.load(step, empty_database_url, monkeypatch)) as client:
        response = client.get("/tasks", headers={"Origin": "https://app.example.com"})
    process_time(response)
    exposed = response.headers.get("access-control-expose-headers", "")
    assert "x-process-time" in [name.strip().lower() for name in exposed.split(",")], exposed


# --- step 8: signup_rate_limit ----------------------------------------------------


def sign_up_answer(client: TestClient, username: str):
    body = {"username": username, "email": f"{username}@example.com", "password": auth.PASSWORD}
    return client.post("/users", json=body)


@pytest.mark.backends("sqlite")
@pytest.mark.exercise(name="signup_rate_limit")
@pytest.mark.requires("production")
def test_sign_ups_past_the_limit_get_429_with_retry_after(
    step: Step, backend: str, empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After SIGNUP_RATE_LIMIT sign-ups from one address, the next gets 429 with Retry-After."""
    monkeypatch.setenv("SIGNUP_RATE_LIMIT", "3/minute")
    migrations.upgrade(step, empty_database_url)
    with TestClient(apps.load(step, empty_database_url, monkeypatch)) as client:
        answers = [sign_up_answer(client, f"user{n}").status_code for n in range(3)]
        refused = sign_up_answer(client, "one_too_many")
        users = client.get("/users").json()
        logged_in = client.post("/auth/token", data={"username": "user0", "password": "x" * 8})
        responses = client.get("/openapi.json").json()["paths"]["/users"]["post"]["responses"]
    assert answers == [201, 201, 201]
    assert refused.status_code == 429, refused.text
    assert refused.json() == {"detail": "Too many sign-ups: try again later"}
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert [user["username"] for user in users] == ["user0", "user1", "user2"]
    assert logged_in.status_code == 401  # the other routes are not limited by it
    assert "429" in responses


@pytest.mark.backends("sqlite")
@pytest.mark.exercise(name="signup_rate_limit")
@pytest.mark.requires("production")
def test_a_bad_signup_rate_limit_stops_the_start_naming_it(
    step: Step,
    backend: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """SIGNUP_RATE_LIMIT=lots stops the app before it serves, with one line naming it."""
    monkeypatch.setenv("SIGNUP_RATE_LIMIT", "lots")
    with pytest.raises(SystemExit) as stopped:
        apps.load(step, database_url, monkeypatch)
    said = capfd.readouterr().err + str(stopped.value.code or "")
    assert "SIGNUP_RATE_LIMIT" in said, said
