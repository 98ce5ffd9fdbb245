"""Step 6's migration: users from before keep everything.

They log in once an admin sets their password.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared import catalog
from shared.catalog import Step
from tests.support import apps, auth, migrations
from tests.support.auth import PASSWORD, assert_unauthorized, log_in
from tests.support.databases import rows
from tests.support.migrations import column_names

pytestmark = [
    pytest.mark.requires("auth"),
    pytest.mark.taught("from-a-step-5-database"),
    pytest.mark.usefixtures("signing_key"),
]


def step_before_passwords(step: Step) -> Step:
    """The newest step before `step` without passwords: its database is what migration 3 upgrades.

    For step 6 that is the step before it; a later step (step 7) keeps the
    same revisions, so it upgrades that database too.
    """
    return [s for s in catalog.STEPS if s.number < step.number and not s.offers("auth")][-1]


def load(step: Step, url: str, request: pytest.FixtureRequest) -> FastAPI:
    """The step's app on `url`, hashing with cheap Argon2 parameters from step 6 on.

    What is shown here is which rows and passwords a migration keeps, not how
    they are hashed: the real parameters would cost a tenth of a second a hash.
    """
    app = apps.load(step, url, request.getfixturevalue("monkeypatch"))
    if step.offers("auth"):
        auth.hash_cheaply(step, request)
    return app


def fill_with_the_step_before(step: Step, url: str, request: pytest.FixtureRequest) -> dict:
    """A database made and filled by the step before passwords, at its newest migration."""
    before = step_before_passwords(step)
    migrations.upgrade(before, url)
    with TestClient(load(before, url, request)) as client:
        for name, role in [("ada", "admin"), ("grace", "member")]:
            body = {"username": name, "email": f"{name}@example.com", "role": role}
            user = client.post("/users", json={**body, "full_name": name.title()}).json()
            for n in range(2):
                post = {"title": f"{name} {n}", "content": "text"}
                assert client.post(f"/users/{user['id']}/posts", json=post).status_code == 201
        assert client.post("/tasks", json={"title": "Buy milk"}).status_code == 201
        return everything(client)


def everything(client: TestClient) -> dict:
    users = client.get("/users").json()
    return {
        "users": [
            {**user, "posts": client.get(f"/users/{user['id']}").json()["posts"]} for user in users
        ],
        "posts": client.get("/posts").json(),
        "tasks": client.get("/tasks").json(),
    }


@pytest.mark.repository
def test_the_password_migration_keeps_every_row(
    step: Step, backend: str, empty_database_url: str, request: pytest.FixtureRequest
) -> None:
    url = empty_database_url
    before = fill_with_the_step_before(step, url, request)
    assert "password_hash" not in column_names(url, "users")

    migrations.upgrade(step, url)
    assert "password_hash" in column_names(url, "users")
    assert rows(url, "SELECT password_hash FROM users") == [(None,), (None,)]
    with TestClient(load(step, url, request)) as client:
        assert everything(client) == before
        # No password yet: no login, whatever is typed.
        for password in (PASSWORD, ""):
            response = client.post("/auth/token", data={"username": "ada", "password": password})
            assert response.status_code in (401, 422)

    migrations.downgrade(step, url, "-1")
    assert "password_hash" not in column_names(url, "users")
    with TestClient(load(step_before_passwords(step), url, request)) as client:
        assert everything(client) == before

    migrations.upgrade(step, url)
    with TestClient(load(step, url, request)) as client:
        assert everything(client) == before


@pytest.mark.repository
@pytest.mark.backends("sqlite")
def test_users_from_before_log_in_once_an_admin_sets_their_password(
    step: Step, backend: str, empty_database_url: str, request: pytest.FixtureRequest
) -> None:
    url = empty_database_url
    fill_with_the_step_before(step, url, request)
    migrations.upgrade(step, url)
    with TestClient(load(step, url, request)) as client:
        assert_unauthorized(
            client.post("/auth/token", data={"username": "ada", "password": PASSWORD})
        )
        # The documented way in: the first-admin command gives ada a password ...
        admin = auth.make_admin(step, client, "ada")
        assert admin["id"] == 1
        headers = auth.login_headers(client, "ada")
        # ... and the admin sets grace's.
        response = client.patch("/users/2", json={"password": "grace's password"}, headers=headers)
        assert response.status_code == 200
        log_in(client, "grace", "grace's password")
        assert client.get("/users/2").json()["role"] == "member"
