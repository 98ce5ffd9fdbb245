"""The users contract, against every step that offers it (docs/contract.md).

Later steps add fields to a user (`posts`, `role`), so a user is compared on the
contract's fields only, never as a whole body.
"""

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.requires("users")

USER_FIELDS = ("id", "username", "email", "full_name")
IMPOSSIBLE_IDS = [0, -1, 2**63, 2**64, 10**30]
ALICE = {"username": "alice", "email": "alice@example.com"}


def fields_of(user: dict) -> dict:
    """A user as the contract describes it."""
    return {field: user[field] for field in USER_FIELDS}


def create(client: TestClient, **fields) -> dict:
    response = client.post("/users", json={**ALICE, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def read(client: TestClient, user_id: int) -> dict:
    response = client.get(f"/users/{user_id}")
    assert response.status_code == 200, response.text
    return fields_of(response.json())


def all_users(client: TestClient) -> list[dict]:
    response = client.get("/users")
    assert response.status_code == 200
    return [fields_of(user) for user in response.json()]


def email_of_length(length: int) -> str:
    """A valid address of exactly `length` characters (local part at most 64)."""
    domain = "@" + "d" * (length - 64 - len("@.com")) + ".com"
    return "u" * 64 + domain


# --- create -----------------------------------------------------------------


def test_create_returns_the_user(client: TestClient) -> None:
    response = client.post("/users", json=ALICE)
    assert response.status_code == 201
    user = response.json()
    assert fields_of(user) == {**ALICE, "id": user["id"], "full_name": None}
    assert isinstance(user["id"], int)
    assert user["id"] > 0


def test_create_keeps_every_field(client: TestClient) -> None:
    user = create(client, full_name="Alice Liddell")
    assert user["full_name"] == "Alice Liddell"
    assert read(client, user["id"]) == fields_of(user)


def test_email_is_stored_in_lower_case(client: TestClient) -> None:
    user = create(client, email="Alice.Liddell@Example.COM")
    assert user["email"] == "alice.liddell@example.com"
    assert read(client, user["id"])["email"] == "alice.liddell@example.com"


def test_text_is_kept_exactly(client: TestClient) -> None:
    user = create(client, username="  Ünïcødé 🐍 <b>  ", full_name='O\'Brien "Jr"\n')
    assert read(client, user["id"])["username"] == "  Ünïcødé 🐍 <b>  "
    assert user["full_name"] == 'O\'Brien "Jr"\n'


def test_longest_allowed_values_are_accepted(client: TestClient) -> None:
    email = email_of_length(120)
    user = create(client, username="u" * 50, email=email, full_name="f" * 100)
    assert read(client, user["id"]) == {
        "id": user["id"],
        "username": "u" * 50,
        "email": email,
        "full_name": "f" * 100,
    }


def test_unknown_fields_are_ignored(client: TestClient) -> None:
    user = create(client, id=424242, is_admin=True)
    assert user["id"] != 424242
    assert "is_admin" not in user
    assert client.get("/users/424242").status_code == 404


INVALID_USERS = [
    {},
    {"username": "alice"},
    {"email": "alice@example.com"},
    {**ALICE, "username": ""},
    {**ALICE, "username": "u" * 51},
    {**ALICE, "username": None},
    {**ALICE, "username": 123},
    {**ALICE, "username": "nul \x00 byte"},
    {**ALICE, "email": ""},
    {**ALICE, "email": "not-an-email"},
    {**ALICE, "email": "alice@"},
    {**ALICE, "email": "@example.com"},
    {**ALICE, "email": "alice@example.com\x00"},
    {**ALICE, "email": None},
    {**ALICE, "email": email_of_length(121)},
    {**ALICE, "full_name": "f" * 101},
    {**ALICE, "full_name": "nul \x00 byte"},
    {**ALICE, "full_name": 42},
]


def test_invalid_user_is_422_and_creates_nothing(client: TestClient) -> None:
    for body in INVALID_USERS:
        response = client.post("/users", json=body)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][0] == "body"
        assert all_users(client) == []


NOT_JSON_USERS = [
    (b"{not json", "application/json"),
    (b"", "application/json"),
    (b'["a", "list"]', "application/json"),
    (b"username=alice&email=alice%40example.com", "application/x-www-form-urlencoded"),
]


def test_body_that_is_not_a_json_user_is_4xx(client: TestClient) -> None:
    for content, content_type in NOT_JSON_USERS:
        response = client.post("/users", content=content, headers={"content-type": content_type})
        assert 400 <= response.status_code < 500
        assert "detail" in response.json()
        assert all_users(client) == []


# --- uniqueness ---------------------------------------------------------------


def test_duplicate_username_is_409(client: TestClient) -> None:
    alice = create(client)
    response = client.post("/users", json={"username": "alice", "email": "other@example.com"})
    assert response.status_code == 409
    assert response.json() == {"detail": "Username already taken"}
    assert all_users(client) == [fields_of(alice)]


def test_duplicate_email_is_409(client: TestClient) -> None:
    alice = create(client)
    response = client.post("/users", json={"username": "bob", "email": "alice@example.com"})
    assert response.status_code == 409
    assert response.json() == {"detail": "Email already registered"}
    assert all_users(client) == [fields_of(alice)]


def test_duplicate_email_ignores_case(client: TestClient) -> None:
    create(client)
    response = client.post("/users", json={"username": "bob", "email": "ALICE@Example.com"})
    assert response.status_code == 409
    assert response.json() == {"detail": "Email already registered"}
    assert len(all_users(client)) == 1


def test_both_taken_is_409_naming_one_of_them(client: TestClient) -> None:
    create(client)
    response = client.post("/users", json=ALICE)
    assert response.status_code == 409
    assert response.json()["detail"] in ("Username already taken", "Email already registered")
    assert len(all_users(client)) == 1


def test_the_next_request_works_after_a_conflict(client: TestClient) -> None:
    alice = create(client)
    assert client.post("/users", json=ALICE).status_code == 409
    bob = create(client, username="bob", email="bob@example.com")
    assert all_users(client) == [fields_of(alice), fields_of(bob)]


def test_a_deleted_users_username_and_email_are_free_again(client: TestClient) -> None:
    alice = create(client)
    assert client.delete(f"/users/{alice['id']}").status_code == 204
    again = create(client)
    assert all_users(client) == [fields_of(again)]


# --- list ---------------------------------------------------------------------


def test_list_starts_empty(client: TestClient) -> None:
    assert all_users(client) == []


def test_list_is_ordered_by_id_and_pages(client: TestClient) -> None:
    created = [
        fields_of(create(client, username=f"user{n}", email=f"user{n}@example.com"))
        for n in range(5)
    ]
    assert all_users(client) == sorted(created, key=lambda user: user["id"])
    page = client.get("/users", params={"skip": 1, "limit": 2}).json()
    assert [fields_of(user) for user in page] == created[1:3]
    assert [fields_of(user) for user in client.get("/users", params={"skip": 4}).json()] == [
        created[4]
    ]


def test_skip_past_the_end_gives_an_empty_list(client: TestClient) -> None:
    create(client)
    response = client.get("/users", params={"skip": 10})
    assert response.status_code == 200
    assert response.json() == []


BAD_PAGINATION = [{"skip": -1}, {"limit": 0}, {"limit": 101}, {"skip": "abc"}, {"limit": "1.5"}]


def test_bad_pagination_is_422(client: TestClient) -> None:
    for params in BAD_PAGINATION:
        response = client.get("/users", params=params)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][0] == "query"


def test_list_answers_directly_without_redirect(client: TestClient) -> None:
    assert client.get("/users", follow_redirects=False).status_code == 200


# --- read and ids ------------------------------------------------------------


def test_read_unknown_user_is_404(client: TestClient) -> None:
    response = client.get("/users/999")
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found"}


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_impossible_ids_are_404_or_422(client: TestClient, method: str) -> None:
    alice = create(client)
    for user_id in IMPOSSIBLE_IDS:  # each refused, so each finds alice as she was
        response = client.request(method, f"/users/{user_id}", json={"username": "mallory"})
        assert response.status_code in (404, 422), f"id {user_id}: {response.text}"
        assert all_users(client) == [fields_of(alice)], f"id {user_id}"


def test_non_integer_id_is_422(client: TestClient) -> None:
    assert client.get("/users/abc").status_code == 422
    assert client.get("/users/1.5").status_code == 422


# --- PATCH ------------------------------------------------------------------


def patch(client: TestClient, user_id: int, body: dict) -> dict:
    response = client.patch(f"/users/{user_id}", json=body)
    assert response.status_code == 200, response.text
    return fields_of(response.json())


@pytest.mark.parametrize(
    "changes",
    [
        {"username": "alicia"},
        {"email": "alicia@example.com"},
        {"full_name": "Alicia"},
        {"username": "alicia", "full_name": "Alicia"},
    ],
)
def test_patch_changes_only_the_fields_sent(client: TestClient, changes: dict) -> None:
    alice = fields_of(create(client, full_name="Alice Liddell"))
    expected = {**alice, **changes}
    assert patch(client, alice["id"], changes) == expected
    assert read(client, alice["id"]) == expected


def test_patch_with_an_empty_body_changes_nothing(client: TestClient) -> None:
    alice = fields_of(create(client, full_name="Alice Liddell"))
    assert patch(client, alice["id"], {}) == alice
    assert read(client, alice["id"]) == alice


def test_patch_null_full_name_clears_it(client: TestClient) -> None:
    alice = fields_of(create(client, full_name="Alice Liddell"))
    assert patch(client, alice["id"], {"full_name": None}) == {**alice, "full_name": None}
    assert read(client, alice["id"])["full_name"] is None


def test_patch_stores_the_email_in_lower_case(client: TestClient) -> None:
    alice = create(client)
    assert patch(client, alice["id"], {"email": "Alicia@EXAMPLE.com"})["email"] == (
        "alicia@example.com"
    )


INVALID_PATCHES = [
    {"username": None},
    {"email": None},
    {"username": ""},
    {"username": "u" * 51},
    {"email": "not-an-email"},
    {"email": email_of_length(121)},
    {"full_name": "f" * 101},
    {"username": "nul \x00 byte"},
    {"full_name": "nul \x00 byte"},
    {"full_name": "Valid", "username": None},
]


def test_invalid_patch_is_422_and_changes_nothing(client: TestClient) -> None:
    alice = fields_of(create(client, full_name="Alice Liddell"))
    for body in INVALID_PATCHES:
        response = client.patch(f"/users/{alice['id']}", json=body)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][0] == "body"
        assert read(client, alice["id"]) == alice


@pytest.mark.parametrize(
    "body",
    [
        {"username": "alice"},
        {"email": "alice@example.com"},
        {"email": "ALICE@example.com"},
        {"username": "alice", "email": "alice@example.com", "full_name": "Alice"},
    ],
)
def test_patch_with_the_users_own_values_is_no_conflict(client: TestClient, body: dict) -> None:
    alice = fields_of(create(client))
    assert patch(client, alice["id"], body) == {**alice, "full_name": body.get("full_name")}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"username": "bob"}, "Username already taken"),
        ({"email": "bob@example.com"}, "Email already registered"),
        ({"email": "Bob@Example.com"}, "Email already registered"),
        ({"full_name": "Mallory", "username": "bob"}, "Username already taken"),
        ({"username": "alicia", "email": "bob@example.com"}, "Email already registered"),
    ],
)
def test_patch_to_another_users_value_is_409_and_changes_nothing(
    client: TestClient, body: dict, detail: str
) -> None:
    alice = fields_of(create(client, full_name="Alice"))
    bob = fields_of(create(client, username="bob", email="bob@example.com"))
    response = client.patch(f"/users/{alice['id']}", json=body)
    assert response.status_code == 409
    assert response.json() == {"detail": detail}
    assert all_users(client) == [alice, bob]


def test_patch_unknown_user_is_404_and_creates_nothing(client: TestClient) -> None:
    # Alice asks (from step 6 on, only a logged-in user gets past the 401).
    alice = create(client)
    response = client.patch("/users/999", json={"username": "ghost"})
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found"}
    assert all_users(client) == [fields_of(alice)]


def test_patch_ignores_an_id_in_the_body(client: TestClient) -> None:
    alice = create(client)
    patched = patch(client, alice["id"], {"id": 999, "full_name": "Alice"})
    assert patched["id"] == alice["id"]
    assert [user["id"] for user in all_users(client)] == [alice["id"]]


# --- DELETE -----------------------------------------------------------------


def test_delete_is_204_with_an_empty_body(client: TestClient) -> None:
    alice = create(client)
    bob = create(client, username="bob", email="bob@example.com")
    response = client.delete(f"/users/{alice['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"/users/{alice['id']}").status_code == 404
    assert all_users(client) == [fields_of(bob)]


def test_delete_unknown_user_is_404(client: TestClient) -> None:
    alice = create(client)
    response = client.delete("/users/999")
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found"}
    assert all_users(client) == [fields_of(alice)]


def test_deleting_twice_is_404_the_second_time(client: TestClient) -> None:
    alice = create(client)
    create(client, username="bob", email="bob@example.com")  # who asks the second time
    assert client.delete(f"/users/{alice['id']}").status_code == 204
    assert client.delete(f"/users/{alice['id']}").status_code == 404


# --- OpenAPI ----------------------------------------------------------------


def test_openapi_declares_the_errors_of_each_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/users"]["post"]["responses"]) >= {"201", "409", "422"}
    assert set(paths["/users"]["get"]["responses"]) >= {"200", "422"}
    item = paths["/users/{user_id}"]
    assert set(item["get"]["responses"]) >= {"200", "404", "422"}
    assert set(item["patch"]["responses"]) >= {"200", "404", "409", "422"}
    assert set(item["delete"]["responses"]) >= {"204", "404", "422"}
    user_schema = item["patch"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert user_schema["$ref"].startswith("#/components/schemas/")


def test_openapi_does_not_call_username_or_email_nullable(client: TestClient) -> None:
    """A client generated from the schema must not be told it may send null."""
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/users/{user_id}"]["patch"]["requestBody"]["content"]
    name = body["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    properties = spec["components"]["schemas"][name]["properties"]
    for field in ("username", "email"):
        schema = properties[field]
        assert "null" not in [option.get("type") for option in schema.get("anyOf", [schema])]


def test_a_user_id_is_never_given_twice(client: TestClient) -> None:
    newest = create(client)
    assert client.delete(f"/users/{newest['id']}").status_code == 204
    after = create(client)
    assert after["id"] > newest["id"]
    assert client.get(f"/users/{newest['id']}").status_code == 404
