"""Who may change what from step 6 on: every route as each caller, and the password rules."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from shared import permissions
from shared.catalog import Step
from shared.permissions import CALLERS, RULES, Rule
from tests.support import auth
from tests.support.auth import PASSWORD, assert_unauthorized, headers_for, log_in, sign_up
from tests.support.inprocess import InProcessClient

pytestmark = [
    pytest.mark.requires("auth"),
    pytest.mark.taught("who-may-do-what"),
    pytest.mark.usefixtures("signing_key", "anonymous"),
]


ABSENT_ID = 999_999


def test_users_me_is_a_route_of_its_own(client: InProcessClient) -> None:
    # Not /users/{user_id} with "me" for an id: that would be a 422.
    assert_unauthorized(client.get("/users/me"), "Not authenticated")
    ada = sign_up(client, "ada")
    assert client.get("/users/me", headers=headers_for(ada)).json() == ada


def test_a_user_changes_their_password_by_sending_the_current_one(client: InProcessClient) -> None:
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
def test_without_the_right_current_password_nothing_changes(client: InProcessClient, body) -> None:
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
    step: Step, client: InProcessClient
) -> None:
    grace = sign_up(client, "grace")
    admin = auth.make_admin(step, client, "root")
    response = client.patch(
        f"/users/{grace['id']}", json={"password": "set by an admin"}, headers=headers_for(admin)
    )
    assert response.status_code == 200
    log_in(client, "grace", "set by an admin")


def concrete(path: str, ids: dict[str, int]) -> str:
    return path.format(**ids, missing=ABSENT_ID)


def caller_headers(step: Step, client: InProcessClient, caller: str, owner: dict) -> dict:
    if caller == "anonymous":
        return {}
    if caller == "owner":
        return headers_for(owner)
    if caller == "other":
        return headers_for(sign_up(client, "grace"))
    return headers_for(auth.make_admin(step, client, "root"))


def refused_first(rule: Rule) -> list[str]:
    """The callers in the order they are tried: those refused, who change nothing, first."""
    return sorted(CALLERS, key=lambda caller: rule.expected(caller) < 400)


@pytest.mark.backends("sqlite")  # the rules are the app's code, the same on every database
@pytest.mark.parametrize("rule", RULES, ids=[rule.label for rule in RULES])
def test_permission_matrix(
    step: Step, client: InProcessClient, empty_database: Callable[[], None], rule: Rule
) -> None:
    """Every route as each of the four callers, each on a database where the owner, their
    post and a task exist; refused callers share one, as a refusal changes nothing."""
    fresh = True
    for caller in refused_first(rule):
        if fresh:
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

        assert response.status_code == rule.expected(caller), f"as {caller}: {response.text}"
        if response.status_code == 401:
            assert response.headers["www-authenticate"] == "Bearer"
        if response.status_code in (401, 403):
            assert set(response.json()) == {"detail"}, f"as {caller}"
            # Refused means unchanged.
            found = client.get(f"/users/{owner['id']}").json()
            assert (found["posts"], found["role"]) == ([post], "member"), f"as {caller}"
        # What a caller was allowed to change, the next one finds as it was.
        fresh = rule.method != "GET" and response.is_success
        if fresh:
            empty_database()


def openapi_path(path: str) -> str:
    """`/users/{user}/posts` as the OpenAPI writes it: `/users/{user_id}/posts`."""
    for resource in ("user", "post", "task"):
        path = re.sub(rf"/{resource}s/{{\w+}}", f"/{resource}s/{{{resource}_id}}", path)
    return path


def test_openapi_declares_the_security_of_every_route(client: InProcessClient) -> None:
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
