"""Users' role from step 5 on: "member" by default, or "admin"; nothing else."""

import pytest
from fastapi.testclient import TestClient

from shared.catalog import Step
from tests.support import auth

pytestmark = pytest.mark.requires("role")


@pytest.fixture
def admin(client: TestClient, step: Step) -> dict[str, str]:
    """The headers of whoever may give a role: anyone in step 5, an admin from step 6 on."""
    if not step.offers("auth"):
        return {}
    return auth.headers_for(auth.make_admin(step, client, "root"))


def create_user(client: TestClient, headers: dict[str, str] | None = None, **fields) -> dict:
    body = {"username": "ada", "email": "ada@example.com", **fields}
    response = client.post("/users", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_new_user_is_a_member(client: TestClient) -> None:
    user = create_user(client)
    assert user["role"] == "member"
    assert client.get(f"/users/{user['id']}").json()["role"] == "member"


def test_a_user_can_be_created_as_admin(client: TestClient, admin: dict) -> None:
    user = create_user(client, admin, role="admin")
    assert user["role"] == "admin"
    assert client.get(f"/users/{user['id']}").json()["role"] == "admin"


@pytest.mark.parametrize("role", [None, "owner", "Admin", "", 1, ["admin"]])
def test_any_other_role_is_422_and_creates_nobody(client: TestClient, role) -> None:
    response = client.post(
        "/users", json={"username": "ada", "email": "ada@example.com", "role": role}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "role"]
    assert client.get("/users").json() == []


def test_patch_changes_the_role_and_nothing_else(client: TestClient, admin: dict) -> None:
    user = create_user(client, full_name="Ada Lovelace")
    response = client.patch(f"/users/{user['id']}", json={"role": "admin"}, headers=admin)
    assert response.status_code == 200
    assert response.json() == {**user, "role": "admin"}
    assert client.get(f"/users/{user['id']}").json()["role"] == "admin"


def test_patch_without_role_keeps_it(client: TestClient, admin: dict) -> None:
    user = create_user(client, admin, role="admin")
    response = client.patch(f"/users/{user['id']}", json={"full_name": "Ada"})
    assert response.json()["role"] == "admin"


@pytest.mark.parametrize("role", [None, "root"])
def test_patch_with_an_invalid_role_is_422_and_changes_nothing(
    client: TestClient, admin: dict, role
) -> None:
    user = create_user(client, admin, role="admin")
    response = client.patch(f"/users/{user['id']}", json={"role": role}, headers=admin)
    assert response.status_code == 422
    assert client.get(f"/users/{user['id']}").json()["role"] == "admin"


def test_openapi_lists_the_roles(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    role = schemas["Role"]
    assert sorted(role["enum"]) == ["admin", "member"]
