"""Step 6 on: sign up, log in and send a token, as a client of the API does.

The suite sets SECRET_KEY (to TEST_SECRET_KEY unless told otherwise), so a
test can also mint a token as the contract describes one (HS256, `sub` the
user id) without paying for a login: `headers_for(user)`. Logging in for real
costs an Argon2 hash check, on purpose; the tests of login itself do it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import jwt
import pytest
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from shared.catalog import Step
from tests.support import apps

# 64 characters: long enough for HS512 too, which some tests try on purpose.
TEST_SECRET_KEY = "tests-only-signing-key-never-used-in-production-0123456789abcdef"
PASSWORD = "correct horse battery staple"


def sign_up(
    client: TestClient,
    username: str,
    *,
    password: str = PASSWORD,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> dict:
    """POST /users with a password; the new user as the API returns it."""
    body = {"username": username, "email": f"{username}@example.com", "password": password}
    response = client.post("/users", json={**body, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """POST /auth/token with form fields, as OAuth2 and Swagger UI send them; the token."""
    response = client.post("/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"
    return response.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login_headers(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    return bearer(log_in(client, username, password))


def secret_key() -> str:
    return os.environ.get("SECRET_KEY") or TEST_SECRET_KEY


def token_for(
    subject: Any,
    *,
    key: str | None = None,
    algorithm: str = "HS256",
    lifetime: timedelta = timedelta(minutes=30),
    issued: datetime | None = None,
    **claims: Any,
) -> str:
    """A token as the app would sign it for user `subject` (an id), or altered by `claims`.

    A claim given as None is left out of the token.
    """
    now = issued or datetime.now(UTC)
    payload = {"sub": str(subject), "iat": now, "exp": now + lifetime, **claims}
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key or secret_key(), algorithm=algorithm)


def headers_for(user: dict) -> dict[str, str]:
    """The headers of a request made by `user` (as the API returned it), without a login."""
    return bearer(token_for(user["id"]))


def make_admin(step: Step, client: TestClient, username: str, *, password: str = PASSWORD) -> dict:
    """The first admin, made by the step's documented command (run in-process: it is fast).

    The command works on the database the step's modules are bound to, which
    is the one `client` talks to.
    """
    command = apps.import_module(step, "create_admin")
    before = os.environ.get("ADMIN_PASSWORD")
    os.environ["ADMIN_PASSWORD"] = password
    try:
        assert command.main([username, "--email", f"{username}@example.com"]) == 0
    finally:
        if before is None:
            del os.environ["ADMIN_PASSWORD"]
        else:
            os.environ["ADMIN_PASSWORD"] = before
    [admin] = [user for user in client.get("/users").json() if user["username"] == username]
    assert admin["role"] == "admin"
    return admin


class ActAsOwner(httpx2.Auth):
    """Lets the contract tests of steps 3-5 speak to a step with authentication.

    Those tests know nothing of passwords and tokens. Set as a client's `auth`,
    this adds what step 6 asks for, and nothing else:

    - a sign-up (`POST /users`) without a password gets one;
    - a request that changes a user (`PATCH`/`DELETE /users/{id}`, `POST
      /users/{id}/posts`) carries that user's token, and one that changes a post
      (`PATCH`/`DELETE /posts/{id}`) its author's, as the owner would send it;
    - where that user or post does not exist, it carries the token of a user
      who does (if any), so the answer is the contract's 404 rather than
      step 6's 401 for a request without a token.

    A request that already has an Authorization header keeps it: the tests of
    step 6 itself choose who is asking.
    """

    requires_request_body = True
    requires_response_body = True

    def auth_flow(self, request: httpx2.Request) -> Iterator[httpx2.Request]:
        path, method = request.url.path, request.method
        if method == "POST" and path == "/users":
            yield with_password(request)
            return
        if "authorization" in request.headers:
            yield request
            return
        user = re.fullmatch(r"/users/(-?\d+)(/posts)?", path)
        post = re.fullmatch(r"/posts/(-?\d+)", path)
        if user and (method == "POST") == bool(user[2]) and method in ("POST", "PATCH", "DELETE"):
            # No look-up: a token of a user that does not exist is a 401. An id
            # of thousands of digits is no user's (and more than int() reads).
            owner = int(user[1]) if len(user[1]) <= 20 else None
        elif post and method in ("PATCH", "DELETE"):
            found = yield lookup(request, path)
            owner = found.json()["user_id"] if found.status_code == 200 else None
        else:
            yield request
            return
        if owner is not None:
            request.headers["Authorization"] = f"Bearer {token_for(owner)}"
            response = yield request
            if response.status_code != 401:
                return
        # No such user or post: ask as someone who exists, for the contract's 404.
        anyone = yield lookup(request, "/users", {"limit": "1"})
        someone = next((user["id"] for user in anyone.json()), None)
        if someone is not None:
            request.headers["Authorization"] = f"Bearer {token_for(someone)}"
        yield request


def lookup(request: httpx2.Request, path: str, params: dict | None = None) -> httpx2.Request:
    """A GET on the same server as `request`, without a token (reads are open)."""
    return httpx2.Request("GET", request.url.copy_with(path=path, query=None), params=params)


def with_password(request: httpx2.Request) -> httpx2.Request:
    """The same sign-up, with a password if its JSON body has none."""
    try:
        body = json.loads(request.content)
    except ValueError:  # not JSON at all: the hostile-input tests' bodies, as sent
        return request
    if not isinstance(body, dict) or "password" in body:
        return request
    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
    return httpx2.Request(
        request.method,
        request.url,
        headers=headers,
        content=json.dumps({**body, "password": PASSWORD}).encode(),
        extensions=request.extensions,
    )


def acting_as_owner(step: Step) -> ActAsOwner | None:
    """The `auth` a contract test's client uses against `step`: ActAsOwner from step 6 on."""
    return ActAsOwner() if step.offers("auth") else None


# What no response may ever hold (docs/contract.md, from step 6 on): a hash, a password
# (a 422 may name the field, or show it masked as "**********"), the suite's
# password or signing key anywhere.
HASH_FIELDS = frozenset({"password_hash", "hashed_password"})
PASSWORD_FIELDS = frozenset({"password", "current_password"})


def secrets_in(value: Any, echoed: bool = False, *, passwords: bool = True) -> list[str]:
    """Where a JSON value shows a secret, as readable paths (empty when it shows none).

    `passwords`: the app has passwords (step 6 on, or an app judged as one).
    Inside the `input` a 422 echoes, a key is one the client sent: a key named
    like a hash column is the client's own, not the app's, and so is a key named
    like a password in an app without passwords (the fuzzer sends such bodies to
    every step); an app with passwords must mask them there too. A real hash,
    the suite's password or the key are found wherever they are, on every step.
    """
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in HASH_FIELDS and not echoed:
                found.append(f"a field named {key!r}")
            masked = isinstance(item, str) and set(item) <= {"*"}
            if key in PASSWORD_FIELDS and (passwords or not echoed) and not masked:
                found.append(f"{key!r} not masked")
            found += secrets_in(item, echoed or key == "input", passwords=passwords)
    elif isinstance(value, list):
        for item in value:
            found += secrets_in(item, echoed, passwords=passwords)
    elif isinstance(value, str):
        if "$argon2" in value:
            found.append("an Argon2 hash")
        if PASSWORD in value or secret_key() in value:
            found.append("the password or the signing key in clear")
    return found


def assert_unauthorized(
    response: httpx2.Response, detail: str | None = None, *, case: str = ""
) -> None:
    """A 401 that asks for a bearer token (and says `detail`, when given).

    `case`: what was sent, named in the failure when one test sends many.
    """
    sent = f"{case}: " if case else ""
    assert response.status_code == 401, f"{sent}{response.text}"
    assert response.headers.get("www-authenticate") == "Bearer", f"{sent}{response.headers}"
    if detail is not None:
        assert response.json() == {"detail": detail}, sent


class SecretShown(AssertionError):
    """A response showed a secret: a rule of step 6, whichever test met it.

    `make check` counts the rule that met it as one that relies on
    authentication (tests/support/judge.py): a step-5 app that repeats a
    sign-up's body in its 422 fails step 6 there, not step 3's rule about 422s.
    """


def secrets_in_answer(
    path: str, content_type: str, content: bytes, *, passwords: bool = True
) -> list[str]:
    """Where an answer's body shows a secret (see secrets_in); the schema shows none.

    Read as JSON when it says it is, as text otherwise. Both the suite's
    clients (assert_no_secrets) and the fuzzer (tests/full/test_fuzz.py) read
    answers through here.
    """
    if path == "/openapi.json":  # describes the inputs, holds no data
        return []
    body: Any = content.decode(errors="replace")
    if "json" in content_type:
        with contextlib.suppress(ValueError):
            body = json.loads(body)
    return secrets_in(body, passwords=passwords)


def assert_no_secrets(response: httpx2.Response, *, passwords: bool = True) -> None:
    """A response hook for every client of the suite: no secret in any body, on any step.

    `passwords`: the app has passwords (see secrets_in).
    """
    response.read()
    found = secrets_in_answer(
        response.request.url.path,
        response.headers.get("content-type", ""),
        response.content,
        passwords=passwords,
    )
    if found:
        raise SecretShown(f"{response.request.method} {response.request.url.path} answered {found}")


# Argon2id at its cheapest: for the tests that create users but are not about
# hashing. The step's own parameters cost ~100-250 ms of CPU per sign-up, and
# the contract tests of steps 6 and 7 sign up thousands of users.
CHEAP_HASHING = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))


def hash_cheaply(step: Step, request: pytest.FixtureRequest) -> None:
    """For this test, the step hashes with CHEAP_HASHING; as before afterwards.

    The dummy hash an unknown username is checked against is made once and
    kept: it is forgotten before and after, so that it is never a cheap one
    outside this test (the timing test compares it with a real hash).

    An app judged by `make check` that is laid out as step 6 is (a `security`
    module with a pwdlib `password_hash` and a cached `dummy_hash`) hashes
    cheaply too; one laid out otherwise hashes as it does, only slower.
    """
    security = sys.modules.get(f"{step.import_root}.security")
    dummy_hash = getattr(security, "dummy_hash", None)
    if not isinstance(getattr(security, "password_hash", None), PasswordHash) or not hasattr(
        dummy_hash, "cache_clear"
    ):
        return
    monkeypatch = request.getfixturevalue("monkeypatch")
    dummy_hash.cache_clear()
    request.addfinalizer(dummy_hash.cache_clear)
    monkeypatch.setattr(security, "password_hash", CHEAP_HASHING)
