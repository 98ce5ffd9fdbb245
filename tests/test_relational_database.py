"""What HTTP cannot see of the users and posts tables.

Races decided by the unique constraints, rows in the SQLite file itself, the
number of SQL statements a request runs, and dates after a round trip
through the database. These tests look inside the step (its `database` and
`models` modules); the contract tests never do.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from shared.catalog import Step
from tests.support.apps import module_of

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
    session_factory = module_of(step, "database").SessionLocal

    def listener(*_: object) -> None:
        action()

    event.listen(session_factory, "before_flush", listener, once=True)
    try:
        yield
    finally:
        event.remove(session_factory, "before_flush", listener)


def another_request_creates(step: Step, **fields: str) -> Callable[[], None]:
    def create() -> None:
        database, models = module_of(step, "database"), module_of(step, "models")
        with Session(database.engine) as other:
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
