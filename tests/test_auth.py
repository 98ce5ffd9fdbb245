"""Passwords, tokens and permissions (CONTRACT.md, "Step 6"), from step 6 on.

Black-box through HTTP first: sign-up, login, tokens good and bad, and the
permission matrix of shared/permissions.py (the table the step's page shows).
Then what HTTP cannot show: the stored hash, the key file, the migration
from a step-5 database, the first-admin command, and the server's log.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import runpy
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin

import jwt
import pytest
from fastapi.testclient import TestClient
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import create_engine, text

from shared import catalog, permissions
from shared.catalog import ROOT, Step
from shared.permissions import CALLERS, RULES, Rule
from shared.server import UvicornServer
from tests.support import apps, auth, migrations
from tests.support.auth import PASSWORD, bearer, headers_for, log_in, sign_up, token_for
from tests.support.migrations import column_names

# The step hashes with cheap Argon2 parameters here too (tests/conftest.py), except in
# the tests about the hashes themselves, marked real_hashing: what is stored, the
# rehash at login, the time of a 401. (The whole module kept the step's own
# parameters: 0.19 s of CPU a sign-up, and a third of a step's test run.)
pytestmark = pytest.mark.requires("auth")

INCORRECT = {"detail": "Incorrect username or password"}
ABSENT_ID = 999_999


@pytest.fixture(autouse=True)
def signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app signs with a key the tests know, and never makes one in the repository."""
    monkeypatch.setenv("SECRET_KEY", auth.TEST_SECRET_KEY)
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)


@pytest.fixture
def client(client: TestClient) -> TestClient:
    """This module's tests say who is asking: a client that adds no token of its own."""
    client.auth = None
    return client


def rows(url: str, sql: str, **params) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]
    finally:
        engine.dispose()


def execute(url: str, sql: str, **params) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(sql), params)
    finally:
        engine.dispose()


def assert_unauthorized(response, detail: str | None = None) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    if detail is not None:
        assert response.json() == {"detail": detail}


# --- sign-up -----------------------------------------------------------------


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


# --- login -------------------------------------------------------------------


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


# --- tokens ------------------------------------------------------------------


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


@pytest.mark.parametrize("make", BAD_AUTHORIZATION.values(), ids=BAD_AUTHORIZATION.keys())
def test_a_bad_token_is_401_with_www_authenticate(client: TestClient, make) -> None:
    ada = sign_up(client, "ada")
    post = client.post(
        f"/users/{ada['id']}/posts", json=permissions.POST, headers=headers_for(ada)
    ).json()
    authorization = make(ada["id"])
    headers = {"Authorization": authorization} if authorization is not None else {}

    assert_unauthorized(client.get("/users/me", headers=headers))
    assert_unauthorized(client.patch(f"/posts/{post['id']}", json={"title": "x"}, headers=headers))
    # Authentication comes first: a post that does not exist is a 401 too.
    assert_unauthorized(client.delete(f"/posts/{ABSENT_ID}", headers=headers))
    assert client.get(f"/posts/{post['id']}").json() == post


def test_the_token_of_a_deleted_user_is_401(client: TestClient) -> None:
    ada = sign_up(client, "ada")
    headers = headers_for(ada)
    assert client.delete(f"/users/{ada['id']}", headers=headers).status_code == 204
    assert_unauthorized(client.get("/users/me", headers=headers))


def test_users_me_is_a_route_of_its_own(client: TestClient) -> None:
    # Not /users/{user_id} with "me" for an id: that would be a 422.
    assert_unauthorized(client.get("/users/me"), "Not authenticated")
    ada = sign_up(client, "ada")
    assert client.get("/users/me", headers=headers_for(ada)).json() == ada


# --- passwords change --------------------------------------------------------


def test_a_user_changes_their_password_by_sending_the_current_one(client: TestClient) -> None:
    ada = sign_up(client, "ada")
    body = {"password": "a new password", "current_password": PASSWORD}
    response = client.patch(f"/users/{ada['id']}", json=body, headers=headers_for(ada))
    assert response.status_code == 200
    assert response.json() == ada
    assert "password" not in response.text
    assert_unauthorized(client.post("/auth/token", data={"username": "ada", "password": PASSWORD}))
    log_in(client, "ada", "a new password")


@pytest.mark.parametrize(
    "body",
    [
        {"password": "a new password"},
        {"password": "a new password", "current_password": "not my password"},
        {"password": "a new password", "current_password": ""},
    ],
    ids=["without the current one", "a wrong current one", "an empty current one"],
)
def test_without_the_right_current_password_nothing_changes(client: TestClient, body) -> None:
    ada = sign_up(client, "ada")
    response = client.patch(
        f"/users/{ada['id']}", json={**body, "full_name": "Ada"}, headers=headers_for(ada)
    )
    assert response.status_code == 403
    assert response.json() == {
        "detail": "To change your password, send your current one as current_password"
    }
    log_in(client, "ada")
    assert client.get(f"/users/{ada['id']}").json()["full_name"] is None


def test_an_admin_sets_a_password_without_knowing_the_old_one(
    step: Step, client: TestClient
) -> None:
    grace = sign_up(client, "grace")
    admin = auth.make_admin(step, client, "root")
    response = client.patch(
        f"/users/{grace['id']}", json={"password": "set by an admin"}, headers=headers_for(admin)
    )
    assert response.status_code == 200
    log_in(client, "grace", "set by an admin")


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


# --- the permission matrix (shared/permissions.py) -----------------------------


def concrete(path: str, ids: dict[str, int]) -> str:
    return path.format(**ids, missing=ABSENT_ID)


def caller_headers(step: Step, client: TestClient, caller: str, owner: dict) -> dict[str, str]:
    if caller == "anonymous":
        return {}
    if caller == "owner":
        return headers_for(owner)
    if caller == "other":
        return headers_for(sign_up(client, "grace"))
    return headers_for(auth.make_admin(step, client, "root"))


@pytest.mark.backends("sqlite")  # the rules are the app's code, the same on every database
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("rule", RULES, ids=[rule.label for rule in RULES])
def test_permission_matrix(step: Step, client: TestClient, rule: Rule, caller: str) -> None:
    owner = sign_up(client, "ada", password=permissions.OWNER_PASSWORD)
    post = client.post(
        f"/users/{owner['id']}/posts", json=permissions.POST, headers=headers_for(owner)
    ).json()
    task = client.post("/tasks", json=permissions.TASK).json()
    ids = {"user": owner["id"], "post": post["id"], "task": task["id"]}
    headers = caller_headers(step, client, caller, owner)

    response = client.request(
        rule.method, concrete(rule.path, ids), json=rule.body, headers=headers
    )

    assert response.status_code == rule.expected(caller), response.text
    if response.status_code == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    if response.status_code in (401, 403):
        assert set(response.json()) == {"detail"}
        # Refused means unchanged.
        assert client.get(f"/users/{owner['id']}").json()["posts"] == [post]
        assert client.get(f"/users/{owner['id']}").json()["role"] == "member"


def openapi_path(path: str) -> str:
    """`/users/{user}/posts` as the OpenAPI writes it: `/users/{user_id}/posts`."""
    for resource in ("user", "post", "task"):
        path = re.sub(rf"/{resource}s/{{\w+}}", f"/{resource}s/{{{resource}_id}}", path)
    return path


def test_openapi_declares_the_security_of_every_route(client: TestClient) -> None:
    openapi = client.get("/openapi.json").json()
    assert openapi["components"]["securitySchemes"] == {
        "OAuth2PasswordBearer": {
            "type": "oauth2",
            "flows": {"password": {"scopes": {}, "tokenUrl": "auth/token"}},
        }
    }
    for rule in RULES:
        operation = openapi["paths"][openapi_path(rule.path)][rule.method.lower()]
        statuses = {rule.expected(caller) for caller in CALLERS}
        where = f"{rule.method} {rule.path}"
        if 401 in statuses:
            assert "401" in operation["responses"], where
            assert operation["security"] == [{"OAuth2PasswordBearer": []}], where
        if 403 in statuses:
            assert "403" in operation["responses"], where
        if 401 not in statuses and (rule.method == "GET" or rule.path.startswith("/tasks")):
            assert "security" not in operation, where  # open to anyone

    login = openapi["paths"]["/auth/token"]["post"]
    assert "401" in login["responses"]
    assert "application/x-www-form-urlencoded" in login["requestBody"]["content"]
    schemas = openapi["components"]["schemas"]
    for model, field in [("UserCreate", "password"), ("UserUpdate", "password")]:
        schema = schemas[model]["properties"][field]
        schema = schema.get("anyOf", [schema])[0]
        assert schema["format"] == "password", model
        assert schema["writeOnly"] is True, model
    assert {"password", "password_hash"}.isdisjoint(schemas["UserRead"]["properties"])
    assert "argon2" not in json.dumps(openapi)


# --- timing ------------------------------------------------------------------


@pytest.mark.real_hashing
@pytest.mark.backends("sqlite")
def test_an_unknown_username_takes_as_long_as_a_wrong_password(client: TestClient) -> None:
    """Otherwise the time of a 401 would tell who has an account.

    Interleaved tries and medians, compared as a ratio: a busy machine slows
    both kinds alike. Without the dummy hash, the ratio is below 0.05.
    """
    sign_up(client, "ada")

    def attempt(username: str) -> float:
        start = time.perf_counter()
        response = client.post("/auth/token", data={"username": username, "password": "wrong!"})
        elapsed = time.perf_counter() - start
        assert response.status_code == 401
        return elapsed

    attempt("nobody")  # the first unknown username makes the dummy hash: not timed
    unknown, wrong = [], []
    for _ in range(7):
        unknown.append(attempt("nobody"))
        wrong.append(attempt("ada"))
    ratio = statistics.median(unknown) / statistics.median(wrong)
    print(f"unknown / wrong password: {ratio:.2f}")
    assert 0.5 < ratio < 2, (unknown, wrong)


# --- the signing key -----------------------------------------------------------


@pytest.mark.internals
def test_secret_key_wins_over_the_key_file(
    step: Step, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key_file = tmp_path / "step.key"
    monkeypatch.setenv("SECRET_KEY_FILE", str(key_file))
    with TestClient(apps.load(step, database_url, monkeypatch)) as client:
        sign_up(client, "ada")
        token = log_in(client, "ada")
    assert jwt.decode(token, auth.TEST_SECRET_KEY, algorithms=["HS256"])["sub"]
    assert not key_file.exists()


@pytest.mark.internals
@pytest.mark.backends("sqlite")
def test_without_secret_key_a_key_file_is_made_once_and_kept(
    step: Step, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SECRET_KEY")
    key_file = tmp_path / "keys" / "step.key"
    monkeypatch.setenv("SECRET_KEY_FILE", str(key_file))

    with TestClient(apps.load(step, database_url, monkeypatch)) as client:
        sign_up(client, "ada")
        token = log_in(client, "ada")
    key = key_file.read_text().strip()
    assert len(key) >= 32
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert jwt.decode(token, key, algorithms=["HS256"])["sub"]
    assert list(key_file.parent.iterdir()) == [key_file]  # no draft left behind

    # A restart reads the same key: the token signed before is still good.
    with TestClient(apps.load(step, database_url, monkeypatch)) as client:
        assert client.get("/users/me", headers=bearer(token)).status_code == 200
    assert key_file.read_text().strip() == key


KEY_OF_A_WORKER = """
import hashlib, sys, time
from pathlib import Path
from {package}.security import secret_key
ready, go = Path(sys.argv[1]), Path(sys.argv[2])
ready.touch()
while not go.exists():
    time.sleep(0.001)
print(hashlib.sha256(secret_key().encode()).hexdigest())
"""


@pytest.mark.internals
@pytest.mark.backends("sqlite")
def test_workers_starting_together_agree_on_one_key(
    step: Step, backend: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "step.key"
    env = {
        **{k: v for k, v in os.environ.items() if k != "SECRET_KEY"},
        "SECRET_KEY_FILE": str(key_file),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}",
    }
    go = tmp_path / "go"
    script = KEY_OF_A_WORKER.format(package=step.import_root)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path / f"ready{n}"), str(go)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready{n}").exists() for n in range(4)):
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.01)
    go.touch()  # all of them ask for the key at once
    fingerprints = {worker.communicate(timeout=60)[0].strip() for worker in workers}
    assert all(worker.returncode == 0 for worker in workers)

    assert len(fingerprints) == 1
    assert fingerprints == {hashlib.sha256(key_file.read_text().strip().encode()).hexdigest()}
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.internals
def test_a_key_file_is_never_replaced(step: Step, app, tmp_path: Path) -> None:
    security = apps.module_of(step, "security")
    key_file = tmp_path / "step.key"
    security.create_key_file(key_file)
    first = key_file.read_text()
    security.create_key_file(key_file)  # as a second worker, a moment later
    assert key_file.read_text() == first
    assert list(tmp_path.iterdir()) == [key_file]


@pytest.mark.internals
@pytest.mark.parametrize("key", ["short", "x" * 31])
def test_a_short_secret_key_stops_the_start_up(
    step: Step, database_url: str, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    monkeypatch.setenv("SECRET_KEY", key)
    app = apps.load(step, database_url, monkeypatch)
    with pytest.raises(RuntimeError, match="at least 32 characters"), TestClient(app):
        pass


def test_the_token_lifetime_comes_from_the_environment(
    step: Step, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCESS_TOKEN_EXPIRE_MINUTES", "5")
    with TestClient(apps.load(step, database_url, monkeypatch)) as client:
        sign_up(client, "ada")
        claims = jwt.decode(log_in(client, "ada"), auth.TEST_SECRET_KEY, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 5 * 60


# --- secrets stay out of the log -------------------------------------------------


@pytest.mark.backends("sqlite")
def test_no_password_hash_or_key_in_the_server_log(
    step: Step, server: UvicornServer, tmp_path: Path, database_url: str
) -> None:
    import httpx2 as httpx

    with httpx.Client(base_url=server.url, timeout=30) as http:
        body = {"username": "ada", "email": "ada@example.com", "password": PASSWORD}
        assert http.post("/users", json=body).status_code == 201
        assert http.post("/users", json={**body, "password": "short"}).status_code == 422
        assert (
            http.post("/auth/token", data={"username": "ada", "password": "wrong"}).status_code
            == 401
        )
        token = http.post("/auth/token", data={"username": "ada", "password": PASSWORD}).json()[
            "access_token"
        ]
        assert http.get("/users/me", headers=bearer(token)).status_code == 200
    [(stored,)] = rows(database_url, "SELECT password_hash FROM users")
    log = (tmp_path / "uvicorn.log").read_text()
    assert "POST /auth/token" in log  # the log was written
    for secret in (PASSWORD, "short", stored, auth.TEST_SECRET_KEY, token):
        assert secret not in log


# --- the first admin: python -m steps.<step>.create_admin --------------------------


def create_admin(
    step: Step, database_url: str, *args: str, password: str | None = None, typed: str = ""
) -> subprocess.CompletedProcess[str]:
    """The command as a learner types it, from the repository root."""
    env = {**os.environ, "DATABASE_URL": database_url}
    if password is not None:
        env["ADMIN_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", f"{step.import_root}.create_admin", *args],
        cwd=ROOT,
        env=env,
        input=typed,
        capture_output=True,
        text=True,
        timeout=120,
        # No controlling terminal: getpass reads the typed lines from stdin.
        start_new_session=True,
    )


@pytest.mark.backends("sqlite")
def test_create_admin_asks_for_the_password_twice(
    step: Step, client: TestClient, database_url: str
) -> None:
    typed = f"{PASSWORD}\n{PASSWORD}\n"
    done = create_admin(step, database_url, "root", "--email", "root@example.com", typed=typed)
    assert done.returncode == 0, done.stderr
    assert "root" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr
    me = client.get("/users/me", headers=bearer(log_in(client, "root"))).json()
    assert (me["username"], me["role"]) == ("root", "admin")


@pytest.mark.backends("sqlite")
def test_create_admin_promotes_an_existing_user_for_scripts(
    step: Step, client: TestClient, database_url: str
) -> None:
    ada = sign_up(client, "ada", full_name="Ada Lovelace")
    client.post(f"/users/{ada['id']}/posts", json=permissions.POST, headers=headers_for(ada))
    done = create_admin(step, database_url, "ada", password="the admin's password")
    assert done.returncode == 0, done.stderr
    assert "the admin's password" not in done.stdout + done.stderr
    [(stored,)] = rows(database_url, "SELECT password_hash FROM users")
    assert stored not in done.stdout + done.stderr

    read = client.get(f"/users/{ada['id']}").json()
    assert read["role"] == "admin"
    assert read["full_name"] == "Ada Lovelace"
    assert len(read["posts"]) == 1
    log_in(client, "ada", "the admin's password")


def run_in_process(step: Step, *args: str) -> int:
    return apps.import_module(step, "create_admin").main(list(args))


def test_create_admin_refuses_two_different_passwords(
    step: Step, client: TestClient, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    typed = iter(["correct horse battery", "correct horse battry"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(typed))
    assert run_in_process(step, "root", "--email", "root@example.com") == 1
    assert "differ" in capsys.readouterr().err
    assert client.get("/users").json() == []


def test_create_admin_reads_the_prompt(
    step: Step, client: TestClient, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr("getpass.getpass", lambda prompt: PASSWORD)
    assert run_in_process(step, "root", "--email", "root@example.com", "--full-name", "Root") == 0
    out, err = capsys.readouterr()
    assert "Created the admin 'root'" in out
    assert PASSWORD not in out + err
    assert client.get("/users").json()[0]["full_name"] == "Root"


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["nobody"], PASSWORD, "give --email"),
        (["root", "--email", "root@example.com"], "short", "at least 8 characters"),
        (["root", "--email", "not an address"], PASSWORD, "email"),
        (["root", "--email", "ada@example.com"], PASSWORD, "email belongs to another user"),
        (["ada"], "short", "at least 8 characters"),
    ],
    ids=[
        "new user without email",
        "short password",
        "bad email",
        "email taken",
        "short, promoting",
    ],
)
def test_create_admin_refuses_and_changes_nothing(
    step: Step,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
    args: list[str],
    password: str,
    message: str,
) -> None:
    ada = sign_up(client, "ada")
    monkeypatch.setenv("ADMIN_PASSWORD", password)
    assert run_in_process(step, *args) == 1
    err = capsys.readouterr().err
    assert message in err
    assert password not in err
    assert client.get("/users").json() == [ada]


def test_create_admin_needs_a_migrated_database(
    step: Step,
    backend: str,
    empty_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
) -> None:
    apps.load(step, empty_database_url, monkeypatch)
    monkeypatch.setenv("ADMIN_PASSWORD", PASSWORD)
    assert run_in_process(step, "root", "--email", "root@example.com") == 1
    assert f"alembic -c steps/{step.package}/alembic.ini upgrade head" in capsys.readouterr().err


def test_create_admin_runs_as_a_module(
    step: Step, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m ...create_admin`, in-process (so that coverage sees its last lines)."""
    name = f"{step.import_root}.create_admin"
    sys.modules.pop(name, None)
    monkeypatch.setattr(sys, "argv", ["create_admin", "root", "--email", "root@example.com"])
    monkeypatch.setenv("ADMIN_PASSWORD", PASSWORD)
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module(name, run_name="__main__")
    assert exit_.value.code == 0
    assert client.get("/users").json()[0]["role"] == "admin"


# --- migration 0003, from a step-5 database ----------------------------------------


def step_before_passwords(step: Step) -> Step:
    """The newest step before `step` without passwords: its database is what migration 3 upgrades.

    For step 6 that is the step before it; a later step (step 7) keeps the
    same revisions, so it upgrades that database too.
    """
    return [s for s in catalog.STEPS if s.number < step.number and not s.offers("auth")][-1]


def fill_with_the_step_before(step: Step, url: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    """A database made and filled by the step before passwords, at its newest migration."""
    before = step_before_passwords(step)
    migrations.upgrade(before, url)
    with TestClient(apps.load(before, url, monkeypatch)) as client:
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
    step: Step, backend: str, empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = empty_database_url
    before = fill_with_the_step_before(step, url, monkeypatch)
    assert "password_hash" not in column_names(url, "users")

    migrations.upgrade(step, url)
    assert "password_hash" in column_names(url, "users")
    assert rows(url, "SELECT password_hash FROM users") == [(None,), (None,)]
    with TestClient(apps.load(step, url, monkeypatch)) as client:
        assert everything(client) == before
        # No password yet: no login, whatever is typed.
        for password in (PASSWORD, ""):
            response = client.post("/auth/token", data={"username": "ada", "password": password})
            assert response.status_code in (401, 422)

    migrations.downgrade(step, url, "-1")
    assert "password_hash" not in column_names(url, "users")
    with TestClient(apps.load(step_before_passwords(step), url, monkeypatch)) as client:
        assert everything(client) == before

    migrations.upgrade(step, url)
    with TestClient(apps.load(step, url, monkeypatch)) as client:
        assert everything(client) == before


@pytest.mark.repository
@pytest.mark.backends("sqlite")
def test_users_from_before_log_in_once_an_admin_sets_their_password(
    step: Step, backend: str, empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = empty_database_url
    fill_with_the_step_before(step, url, monkeypatch)
    migrations.upgrade(step, url)
    with TestClient(apps.load(step, url, monkeypatch)) as client:
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


# --- Swagger UI's Authorize button, in a real browser ------------------------------


@pytest.mark.repository
@pytest.mark.backends("sqlite")
def test_swagger_ui_authorize_logs_in_and_sends_the_token(
    step: Step, server: UvicornServer
) -> None:
    from tests import test_docs

    if not Path(test_docs.CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {test_docs.CHROMIUM}: apt-get install chromium")
    import httpx2 as httpx
    from playwright.sync_api import expect, sync_playwright

    body = {"username": "ada", "email": "ada@example.com", "password": PASSWORD}
    assert httpx.post(f"{server.url}/users", json=body, timeout=30).status_code == 201

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=test_docs.CHROMIUM, args=test_docs.CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            page.goto(f"{server.url}/docs", wait_until="load")
            page.locator("button.authorize").first.click()
            page.fill("#oauth_username", "ada")
            page.fill("#oauth_password", PASSWORD)
            buttons = page.locator(".modal-ux .auth-btn-wrapper")
            buttons.locator("button.authorize").click()
            # The login (a slow hash, on purpose) has answered once "Logout" shows.
            expect(buttons.locator("button", has_text="Logout")).to_be_visible(timeout=60_000)
            buttons.locator("button.btn-done").click()

            operation = page.locator("#operations-users-read_current_user_users_me_get")
            operation.locator(".opblock-summary").click()
            operation.locator("button.try-out__btn").click()
            operation.locator("button.execute").click()
            live = operation.locator(".live-responses-table .response")
            expect(live.locator(".response-col_status").first).to_have_text("200")
            expect(live.locator(".microlight").first).to_contain_text('"username": "ada"')
        finally:
            browser.close()


@pytest.mark.parametrize(
    ("body", "shows_a_secret"),
    [
        ({"id": 1, "username": "ada"}, False),
        ({"detail": [{"loc": ["body", "password"], "input": {"password": "**********"}}]}, False),
        ({"id": 1, "password_hash": "x"}, True),
        # A 422 echoing a key the client sent, named like a hash column: the client's own.
        ({"detail": [{"loc": ["body", "title"], "input": {"password_hash": {"x": 1}}}]}, False),
        ({"detail": [{"loc": ["body"], "input": {"password": "hunter22"}}]}, True),
        ({"id": 1, "password": "hunter22"}, True),
        ([{"note": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"}], True),
        ({"detail": f"bad {PASSWORD}"}, True),
        ("plain text with the key " + auth.TEST_SECRET_KEY, True),
    ],
)
def test_the_suites_secret_check_tells_a_secret_from_a_field_name(
    body: object, shows_a_secret: bool
) -> None:
    # Every client of the suite runs this check on every answer (conftest.py,
    # test_fuzz.py): it must catch a leak, and let a masked 422 through.
    assert bool(auth.secrets_in(body)) == shows_a_secret


def test_in_an_app_without_passwords_an_echoed_password_key_is_the_clients_own() -> None:
    # Steps 1-5 have no passwords: a 422 that echoes a key the client named
    # "password" shows nothing of the app's. From step 6 on it must be masked.
    body = {"detail": [{"loc": ["body", "title"], "input": {"password": {"x": 1}}}]}
    assert auth.secrets_in(body, passwords=True)
    assert not auth.secrets_in(body, passwords=False)


def test_the_secret_check_reads_a_json_answer_as_json_and_any_other_as_text() -> None:
    # One reader for both clients of the suite: the contract client's hook and
    # the fuzzer's check.
    leaked = b'{"id": 1, "password": "hunter22"}'
    assert auth.secrets_in_answer("/users", "application/json", leaked)
    # As text, a key is only characters; a hash is found in any body.
    assert not auth.secrets_in_answer("/users", "text/plain", leaked)
    assert auth.secrets_in_answer("/users", "text/html", b"<p>$argon2id$v=19$m=1</p>")
    # A body that says JSON but is not is read as text.
    assert auth.secrets_in_answer("/users", "application/json", b"{$argon2id$")
    # The schema names the password field: it describes inputs and holds no data.
    assert not auth.secrets_in_answer("/openapi.json", "application/json", leaked)
