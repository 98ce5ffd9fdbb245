"""Signing up from step 6 on: a password, kept only as an Argon2id hash, never shown."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from shared.catalog import Step
from tests.support import auth
from tests.support.auth import PASSWORD, assert_unauthorized, bearer, headers_for, log_in, sign_up
from tests.support.databases import rows

# The step hashes with cheap Argon2 parameters here too (tests/conftest.py), except in
# the tests about the hashes themselves, marked real_hashing: what is stored, the
# rehash at login, the time of a 401. (The whole module kept the step's own
# parameters: 0.19 s of CPU a sign-up, and a third of a step's test run.)
pytestmark = [pytest.mark.requires("auth"), pytest.mark.usefixtures("signing_key", "anonymous")]


@pytest.mark.real_hashing
def test_sign_up_stores_only_an_argon2id_hash(client: TestClient, database_url: str) -> None:
    response = client.post(
        "/users",
        json={"username": "ada", "email": "ada@example.com", "password": PASSWORD},
    )
    assert response.status_code == 201
    user = response.json()
    assert user == {
        "id": user["id"],
        "username": "ada",
        "email": "ada@example.com",
        "full_name": None,
        "role": "member",
    }
    [(stored,)] = rows(database_url, "SELECT password_hash FROM users")
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    for shown in (response, client.get("/users"), client.get(f"/users/{user['id']}")):
        assert PASSWORD not in shown.text
        assert "argon2" not in shown.text


@pytest.mark.parametrize(("length", "status"), [(7, 422), (8, 201), (128, 201), (129, 422)])
def test_a_password_has_8_to_128_characters(client: TestClient, length: int, status: int) -> None:
    password = "p" * length
    response = client.post(
        "/users", json={"username": "ada", "email": "ada@example.com", "password": password}
    )
    assert response.status_code == status
    assert password not in response.text


@pytest.mark.parametrize(
    "password",
    [None, 12345678, ["correct horse"], {"secret": "correct horse"}, True],
    ids=["null", "number", "list", "object", "bool"],
)
def test_a_password_must_be_text(client: TestClient, password) -> None:
    body = {"username": "ada", "email": "ada@example.com", "password": password}
    assert client.post("/users", json=body).status_code == 422
    assert client.get("/users").json() == []


@pytest.mark.parametrize("bad_text", ["\\ud800", "\\u0000"], ids=["lone surrogate", "NUL"])
def test_a_password_that_is_not_text_is_422_not_500(client: TestClient, bad_text: str) -> None:
    body = f'{{"username": "ada", "email": "ada@example.com", "password": "secret12{bad_text}"}}'
    response = client.post("/users", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "secret12" not in response.text
    assert client.get("/users").json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"password": PASSWORD},  # the error's input is the whole body
        {"username": "", "email": "ada@example.com", "password": PASSWORD},
        {"username": "ada", "email": "not an address", "password": PASSWORD},
        [{"username": "ada", "password": PASSWORD}],
    ],
    ids=["missing username", "empty username", "bad email", "a list"],
)
def test_a_422_never_repeats_a_password(client: TestClient, body) -> None:
    response = client.post("/users", json=body)
    assert response.status_code == 422
    assert PASSWORD not in response.text
    assert response.json()["detail"]  # FastAPI's body, otherwise unchanged


def test_a_422_of_a_patch_never_repeats_the_passwords(client: TestClient) -> None:
    ada = sign_up(client, "ada")
    body = {"username": "", "password": "a new password", "current_password": PASSWORD}
    response = client.patch(f"/users/{ada['id']}", json=body, headers=headers_for(ada))
    assert response.status_code == 422
    assert PASSWORD not in response.text
    assert "a new password" not in response.text
    # ... and changes nothing: the password is still the old one.
    assert log_in(client, "ada")
    refused = client.post("/auth/token", data={"username": "ada", "password": "a new password"})
    assert refused.status_code == 401


def test_a_role_in_a_sign_up_needs_an_admin(step: Step, client: TestClient) -> None:
    body = {"username": "ada", "email": "ada@example.com", "password": PASSWORD, "role": "admin"}
    response = client.post("/users", json=body)
    assert response.status_code == 403
    assert response.json() == {"detail": "Only an admin may choose a role"}
    assert client.get("/users").json() == []

    admin = auth.make_admin(step, client, "root")
    response = client.post("/users", json=body, headers=headers_for(admin))
    assert response.status_code == 201
    assert response.json()["role"] == "admin"


def test_taken_usernames_and_emails_are_still_409(client: TestClient) -> None:
    sign_up(client, "ada")
    grace = sign_up(client, "grace")
    body = {"username": "ada", "email": "other@example.com", "password": "another password"}
    response = client.post("/users", json=body)
    assert (response.status_code, response.json()) == (409, {"detail": "Username already taken"})
    # The refused sign-up changed nothing: ada's password is still her own.
    assert log_in(client, "ada")
    refused = client.post("/auth/token", data={"username": "ada", "password": "another password"})
    assert refused.status_code == 401
    response = client.patch(
        f"/users/{grace['id']}", json={"email": "ADA@example.com"}, headers=headers_for(grace)
    )
    assert (response.status_code, response.json()) == (409, {"detail": "Email already registered"})


def test_a_sign_up_with_a_bad_token_is_401(client: TestClient) -> None:
    body = {"username": "ada", "email": "ada@example.com", "password": PASSWORD}
    assert_unauthorized(client.post("/users", json=body, headers=bearer("not-a-token")))
    assert client.get("/users").json() == []
