"""Logging in from step 6 on: the OAuth2 password flow and a signed JWT.

Every bad token is refused with a 401.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin

import jwt
import pytest
from fastapi.testclient import TestClient
from pwdlib.hashers.argon2 import Argon2Hasher

from shared import permissions
from tests.support import auth, production
from tests.support.auth import (
    PASSWORD,
    assert_unauthorized,
    bearer,
    headers_for,
    log_in,
    sign_up,
    token_for,
)
from tests.support.databases import execute, rows
from tests.support.production import StartWith

# A fixture of tests/support/production.py: the app started on settings of a test's choosing.
start_with = production.start_with

pytestmark = [
    pytest.mark.requires("auth"),
    pytest.mark.taught("log-in-then-send-the-token"),
    pytest.mark.usefixtures("signing_key", "anonymous"),
]


INCORRECT = {"detail": "Incorrect username or password"}


ABSENT_ID = 999_999


def test_login_gives_a_bearer_jwt_that_names_the_user(client: TestClient) -> None:
    ada = sign_up(client, "ada")
    response = client.post("/auth/token", data={"username": "ada", "password": PASSWORD})
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"access_token", "token_type"}
    assert answer["token_type"] == "bearer"
    token = answer["access_token"]

    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, auth.TEST_SECRET_KEY, algorithms=["HS256"])
    assert set(claims) == {"sub", "iat", "exp"}
    assert claims["sub"] == str(ada["id"])
    assert claims["exp"] - claims["iat"] == 30 * 60
    assert abs(claims["iat"] - time.time()) < 60

    me = client.get("/users/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json() == ada


@pytest.mark.parametrize(
    ("username", "password"),
    [("ada", "wrong password"), ("nobody", PASSWORD), ("ADA", PASSWORD), ("ada", "")],
    ids=["wrong password", "unknown username", "username in another case", "empty password"],
)
def test_a_wrong_password_and_an_unknown_username_get_the_same_401(
    client: TestClient, username: str, password: str
) -> None:
    sign_up(client, "ada")
    response = client.post("/auth/token", data={"username": username, "password": password})
    if response.status_code == 422:  # an empty form field may count as missing
        assert password == ""
        return
    assert_unauthorized(response, INCORRECT["detail"])


def test_login_with_the_form_swagger_ui_sends(client: TestClient) -> None:
    """Swagger UI's "Authorize" posts this form to the tokenUrl of the OpenAPI."""
    sign_up(client, "ada")
    token_url = client.get("/openapi.json").json()["components"]["securitySchemes"][
        "OAuth2PasswordBearer"
    ]["flows"]["password"]["tokenUrl"]
    # Swagger UI resolves it against the address of the OpenAPI document.
    url = urljoin(f"{client.base_url}/openapi.json", token_url)
    assert url == f"{client.base_url}/auth/token"
    form = {"grant_type": "password", "username": "ada", "password": PASSWORD, "scope": ""}
    response = client.post(url, data=form)
    assert response.status_code == 200
    assert client.get("/users/me", headers=bearer(response.json()["access_token"])).is_success


def test_login_accepts_a_multipart_form(client: TestClient) -> None:
    sign_up(client, "ada")
    fields = {"username": (None, "ada"), "password": (None, PASSWORD)}
    assert client.post("/auth/token", files=fields).status_code == 200


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"username": "ada"},
        {"password": PASSWORD},
        {"username": "ada", "password": PASSWORD, "grant_type": "client_credentials"},
    ],
    ids=["empty", "no password", "no username", "another grant type"],
)
def test_an_incomplete_login_form_is_422(client: TestClient, form: dict) -> None:
    sign_up(client, "ada")
    response = client.post("/auth/token", data=form)
    assert response.status_code == 422
    assert PASSWORD not in response.text


def test_login_with_a_json_body_is_422(client: TestClient) -> None:
    sign_up(client, "ada")
    response = client.post("/auth/token", json={"username": "ada", "password": PASSWORD})
    assert response.status_code == 422
    assert PASSWORD not in response.text


@pytest.mark.parametrize(
    "content",
    [
        b"username=a%00da&password=x",
        b"username=ada&password=" + b"x" * 100_000,
        b"username=%ff%fe&password=%ff%00",
        b"username=ada&password=%ED%A0%80%ED%A0%80xxxxxxxx",
        b"username=" + b"a" * 100_000 + b"&password=x",
        b"username=ada&username=bob&password=x",
    ],
    ids=["NUL", "huge password", "not UTF-8", "encoded surrogates", "huge username", "twice"],
)
def test_a_hostile_login_form_is_refused_not_a_500(client: TestClient, content: bytes) -> None:
    sign_up(client, "ada")
    response = client.post(
        "/auth/token",
        content=content,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code in (401, 422), response.text


def unsigned(claims: dict) -> str:
    """A token with `"alg": "none"`: no signature at all."""

    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def signed(claims: dict) -> str:
    """A token with exactly these claims, signed with the app's key."""
    return jwt.api_jws.encode(json.dumps(claims).encode(), auth.TEST_SECRET_KEY, "HS256")


def swapped_payload(user_id: int, other_id: int) -> str:
    """A token for `user_id` whose payload now names `other_id`, signature kept."""
    header, _, signature = token_for(user_id).split(".")
    _, payload, _ = token_for(other_id).split(".")
    return f"{header}.{payload}.{signature}"


def now() -> int:
    return int(time.time())


BAD_AUTHORIZATION: dict[str, Callable[[int], str | bytes | None]] = {
    "no Authorization header": lambda _: None,
    "another scheme": lambda _: "Basic YWRhOnNlY3JldA==",
    "Bearer and nothing": lambda _: "Bearer ",
    "not a JWT": lambda _: "Bearer not-a-token",
    "two words": lambda user: f"Bearer {token_for(user)} extra",
    "signed with another key": lambda user: (
        "Bearer " + token_for(user, key="another-key-that-is-long-enough-too")
    ),
    "alg none": lambda user: (
        "Bearer " + unsigned({"sub": str(user), "iat": now(), "exp": now() + 600})
    ),
    "HS512 with the right key": lambda user: "Bearer " + token_for(user, algorithm="HS512"),
    "expired": lambda user: (
        "Bearer " + token_for(user, issued=datetime.now(UTC) - timedelta(minutes=31))
    ),
    "issued in the future": lambda user: (
        "Bearer " + token_for(user, issued=datetime.now(UTC) + timedelta(hours=1))
    ),
    "payload swapped": lambda user: "Bearer " + swapped_payload(user, user + 1),
    "no exp": lambda user: "Bearer " + signed({"sub": str(user), "iat": now()}),
    "no iat": lambda user: "Bearer " + signed({"sub": str(user), "exp": now() + 600}),
    "no sub": lambda user: "Bearer " + signed({"iat": now(), "exp": now() + 600}),
    "sub a number": lambda user: (
        "Bearer " + signed({"sub": user, "iat": now(), "exp": now() + 600})
    ),
    "sub a name": lambda _: "Bearer " + token_for("ada"),
    "sub zero": lambda _: "Bearer " + token_for(0),
    "sub past 2**63": lambda _: "Bearer " + token_for(2**63),
    "sub 5000 digits": lambda _: "Bearer " + token_for("9" * 5000),
    "sub of nobody": lambda _: "Bearer " + token_for(ABSENT_ID),
    "not ASCII": lambda _: "Bearer tök.én.x".encode(),
}


def test_a_bad_token_is_401_with_www_authenticate(client: TestClient) -> None:
    ada = sign_up(client, "ada")
    post = client.post(
        f"/users/{ada['id']}/posts", json=permissions.POST, headers=headers_for(ada)
    ).json()
    for case, make in BAD_AUTHORIZATION.items():  # each refused: none changes the post
        authorization = make(ada["id"])
        headers = {"Authorization": authorization} if authorization is not None else {}

        assert_unauthorized(client.get("/users/me", headers=headers), case=case)
        patched = client.patch(f"/posts/{post['id']}", json={"title": "x"}, headers=headers)
        assert_unauthorized(patched, case=case)
        # Authentication comes first: a post that does not exist is a 401 too.
        assert_unauthorized(client.delete(f"/posts/{ABSENT_ID}", headers=headers), case=case)
    assert client.get(f"/posts/{post['id']}").json() == post


def test_the_token_of_a_deleted_user_is_401(client: TestClient) -> None:
    ada = sign_up(client, "ada")
    headers = headers_for(ada)
    assert client.delete(f"/users/{ada['id']}", headers=headers).status_code == 204
    assert_unauthorized(client.get("/users/me", headers=headers))


@pytest.mark.real_hashing
def test_a_hash_with_older_parameters_is_replaced_at_login(
    client: TestClient, database_url: str
) -> None:
    ada = sign_up(client, "ada")
    older = Argon2Hasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    execute(
        database_url, "UPDATE users SET password_hash = :h WHERE id = :id", h=older, id=ada["id"]
    )

    assert_unauthorized(client.post("/auth/token", data={"username": "ada", "password": "wrong"}))
    [(kept,)] = rows(database_url, "SELECT password_hash FROM users")
    assert kept == older  # a wrong password changes nothing

    log_in(client, "ada")
    [(renewed,)] = rows(database_url, "SELECT password_hash FROM users")
    assert renewed != older
    assert renewed.startswith("$argon2id$")
    assert not Argon2Hasher().check_needs_rehash(renewed)

    log_in(client, "ada")
    assert rows(database_url, "SELECT password_hash FROM users") == [(renewed,)]


def test_the_token_lifetime_comes_from_the_environment(start_with: StartWith) -> None:
    with start_with(ACCESS_TOKEN_EXPIRE_MINUTES="5") as client:
        sign_up(client, "ada")
        claims = jwt.decode(log_in(client, "ada"), auth.TEST_SECRET_KEY, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 5 * 60
