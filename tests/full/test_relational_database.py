"""What HTTP cannot see of the users and posts tables.

Races decided by the unique constraints, rows in the SQLite file itself, the
number of SQL statements a request runs, and dates after a round trip
through the database. These tests look inside the step (its `database` and
`models` modules); the contract tests never do.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, make_url
from sqlalchemy.orm import Session

from shared.catalog import Step
from tests.support import auth, engines, sqlite
from tests.support.apps import load, module_of

# Reads the step's own modules or files: left out when judging another app.
pytestmark = [pytest.mark.internals, pytest.mark.taught("why-it-is-built-this-way")]

BOB = {"username": "bob", "email": "bob@example.com"}


def create_user(client: TestClient, username: str) -> dict:
    response = client.post("/users", json={"username": username, "email": f"{username}@x.org"})
    assert response.status_code == 201, response.text
    return response.json()


@contextmanager
def before_next_flush(step: Step, action: Callable[[], None]) -> Iterator[None]:
    """Run `action` once, when a request's session is about to write.

    That is after the API has checked that a value is free and before its
    INSERT or UPDATE reaches the database: the moment a racing request can
    take the value.
    """
    sessions = engines.session_events_target(module_of(step, "database").SessionLocal)

    def listener(*_: object) -> None:
        action()

    event.listen(sessions, "before_flush", listener, once=True)
    try:
        yield
    finally:
        event.remove(sessions, "before_flush", listener)


def another_request_creates(step: Step, **fields: str) -> Callable[[], None]:
    def create() -> None:
        database, models = module_of(step, "database"), module_of(step, "models")
        # (In an async step this runs inside the request's awaited flush, where
        # the sync engine of its AsyncEngine can be used as is.)
        with Session(engines.sync_engine(database.engine)) as other:
            other.add(models.User(**fields))
            other.commit()

    return create


@pytest.mark.requires("users")
class TestRaceForAUniqueValue:
    """The API checks first; the database decides when two requests race."""

    def test_create_that_loses_the_race_is_409(self, client: TestClient, step: Step) -> None:
        with before_next_flush(step, another_request_creates(step, **BOB)):
            response = client.post("/users", json={**BOB, "email": "robert@example.com"})
        assert response.status_code == 409
        assert response.json() == {"detail": "Username already taken"}
        users = client.get("/users").json()
        assert [(user["username"], user["email"]) for user in users] == [("bob", "bob@example.com")]

    def test_update_that_loses_the_race_is_409(self, client: TestClient, step: Step) -> None:
        alice = create_user(client, "alice")
        with before_next_flush(step, another_request_creates(step, **BOB)):
            response = client.patch(f"/users/{alice['id']}", json={"email": "BOB@example.com"})
        assert response.status_code == 409
        assert response.json() == {"detail": "Email already registered"}
        assert client.get(f"/users/{alice['id']}").json()["email"] == "alice@x.org"

    def test_the_session_is_clean_after_a_lost_race(self, client: TestClient, step: Step) -> None:
        with before_next_flush(step, another_request_creates(step, **BOB)):
            assert client.post("/users", json=BOB).status_code == 409
        carol = create_user(client, "carol")
        assert client.get(f"/users/{carol['id']}").status_code == 200


# --- posts: foreign keys, cascade, query counts, dates ------------------------


def create_post(client: TestClient, author_id: int, title: str = "Hello") -> dict:
    response = client.post(f"/users/{author_id}/posts", json={"title": title, "content": "Text"})
    assert response.status_code == 201, response.text
    return response.json()


def statements_for(client: TestClient, step: Step, path: str) -> list[str]:
    with engines.counting_statements(step) as statements:
        response = client.get(path)
    assert response.status_code == 200, response.text
    return statements


@pytest.mark.requires("posts")
@pytest.mark.backends("sqlite")
class TestForeignKeysInTheSQLiteFile:
    def test_the_apps_connections_enforce_foreign_keys(
        self, client: TestClient, step: Step
    ) -> None:
        engine = module_of(step, "database").engine
        assert engines.scalar(engine, "PRAGMA foreign_keys") == 1

    def test_posts_reference_users_with_on_delete_cascade(
        self, client: TestClient, database_url: str
    ) -> None:
        with sqlite.connect(database_url) as db:
            keys = db.execute("PRAGMA foreign_key_list(posts)").fetchall()
        # (id, seq, table, from, to, on_update, on_delete, match)
        assert [(key[2], key[3], key[4], key[6]) for key in keys] == [
            ("users", "user_id", "id", "CASCADE")
        ]

    def test_deleting_a_user_leaves_no_orphan_posts_in_the_file(
        self, client: TestClient, database_url: str
    ) -> None:
        alice, bob = create_user(client, "alice"), create_user(client, "bob")
        for n in range(3):
            create_post(client, alice["id"], f"alice {n}")
        bobs = create_post(client, bob["id"], "bob")
        assert client.delete(f"/users/{alice['id']}").status_code == 204

        with sqlite.connect(database_url) as db:
            rows = db.execute("SELECT id, user_id FROM posts ORDER BY id").fetchall()
            orphans = db.execute(
                "SELECT count(*) FROM posts WHERE user_id NOT IN (SELECT id FROM users)"
            ).fetchone()[0]
            violations = db.execute("PRAGMA foreign_key_check").fetchall()
        assert rows == [(bobs["id"], bob["id"])]
        assert orphans == 0
        assert violations == []


# Enough posts that loading them one query each (N+1) would show as more
# statements than for one post; more would prove nothing more, and cost requests.
MANY = 5


@pytest.mark.requires("posts")
class TestNoNPlusOne:
    """A request runs as many statements for several posts as for one."""

    def test_deleting_a_user_leaves_its_posts_to_the_database(
        self, client: TestClient, step: Step
    ) -> None:
        """The ORM neither loads nor deletes the posts: ON DELETE CASCADE does."""
        alice = create_user(client, "alice")
        for n in range(MANY):
            create_post(client, alice["id"], f"post {n}")
        with engines.counting_statements(step) as statements:
            assert client.delete(f"/users/{alice['id']}").status_code == 204
        assert statements
        assert [statement for statement in statements if "posts" in statement.lower()] == []
        assert client.get("/posts").json() == []

    def test_a_user_with_its_posts(self, client: TestClient, step: Step) -> None:
        few, many = create_user(client, "few"), create_user(client, "many")
        create_post(client, few["id"])
        for n in range(MANY):
            create_post(client, many["id"], f"post {n}")
        for_one = statements_for(client, step, f"/users/{few['id']}")
        for_many = statements_for(client, step, f"/users/{many['id']}")
        assert len(client.get(f"/users/{many['id']}").json()["posts"]) == MANY
        assert len(for_one) == len(for_many)

    def test_all_posts(self, client: TestClient, step: Step) -> None:
        authors = [create_user(client, name) for name in ("ann", "ben", "cid")]
        create_post(client, authors[0]["id"])
        for_one = statements_for(client, step, "/posts")
        for n in range(MANY - 1):  # by each of the three authors
            create_post(client, authors[n % 3]["id"], f"post {n}")
        for_many = statements_for(client, step, "/posts")
        assert len(client.get("/posts").json()) == MANY
        assert len(for_one) == len(for_many)


@pytest.mark.requires("posts")
@pytest.mark.backends("postgresql")
def test_date_posted_is_utc_whatever_the_sessions_time_zone(
    step: Step, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL answers in the session's time zone; the API still answers in UTC."""
    url = make_url(database_url).update_query_dict({"options": "-c TimeZone=Asia/Kolkata"})
    app = load(step, url.render_as_string(hide_password=False), monkeypatch)
    with TestClient(app) as client:
        client.auth = auth.acting_as_owner(step)  # step 6 on: a password, the owner's token
        alice = create_user(client, "alice")
        post = create_post(client, alice["id"])
        stored = client.get(f"/posts/{post['id']}").json()["date_posted"]
        engine = module_of(step, "database").engine
        assert engines.scalar(engine, "SHOW TimeZone") == "Asia/Kolkata"
    assert stored == post["date_posted"]
    assert datetime.fromisoformat(stored).utcoffset() == timedelta(0)
