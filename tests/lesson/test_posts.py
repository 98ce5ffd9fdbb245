"""The posts contract, against every step that offers it (docs/contract.md)."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.requires("posts")

POST_FIELDS = ("id", "title", "content", "user_id", "date_posted")
IMPOSSIBLE_IDS = [0, -1, 2**63, 2**64, 10**30]
HELLO = {"title": "Hello", "content": "My first post."}


def create_user(client: TestClient, username: str = "alice") -> dict:
    body = {"username": username, "email": f"{username}@example.com"}
    response = client.post("/users", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def create_post(client: TestClient, author_id: int, **fields) -> dict:
    response = client.post(f"/users/{author_id}/posts", json={**HELLO, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def read_post(client: TestClient, post_id: int) -> dict:
    response = client.get(f"/posts/{post_id}")
    assert response.status_code == 200, response.text
    return response.json()


def all_posts(client: TestClient) -> list[dict]:
    response = client.get("/posts")
    assert response.status_code == 200
    return response.json()


def posts_of(client: TestClient, user_id: int, **params) -> list[dict]:
    response = client.get(f"/users/{user_id}/posts", params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def alice(client: TestClient) -> dict:
    return create_user(client, "alice")


# --- create -----------------------------------------------------------------


def test_create_returns_the_post_of_the_user_in_the_url(client: TestClient, alice: dict) -> None:
    response = client.post(f"/users/{alice['id']}/posts", json=HELLO)
    assert response.status_code == 201
    post = response.json()
    assert set(post) == set(POST_FIELDS)
    assert post["title"] == HELLO["title"]
    assert post["content"] == HELLO["content"]
    assert post["user_id"] == alice["id"]
    assert isinstance(post["id"], int)
    assert post["id"] > 0
    assert read_post(client, post["id"]) == post


def test_date_posted_is_now_in_utc_with_its_offset(client: TestClient, alice: dict) -> None:
    before = datetime.now(UTC)
    post = create_post(client, alice["id"])
    after = datetime.now(UTC)
    text = post["date_posted"]
    assert text.endswith(("Z", "+00:00"))
    date_posted = datetime.fromisoformat(text)
    assert date_posted.utcoffset() == timedelta(0)
    assert before <= date_posted <= after


def test_date_posted_survives_the_round_trip_through_the_database(
    client: TestClient, alice: dict
) -> None:
    post = create_post(client, alice["id"])
    for stored in (
        read_post(client, post["id"]),
        all_posts(client)[0],
        posts_of(client, alice["id"])[0],
        client.get(f"/users/{alice['id']}").json()["posts"][0],
    ):
        assert datetime.fromisoformat(stored["date_posted"]) == datetime.fromisoformat(
            post["date_posted"]
        )
        assert stored["date_posted"].endswith(("Z", "+00:00"))


def test_ids_and_dates_in_the_body_are_ignored(client: TestClient, alice: dict) -> None:
    bob = create_user(client, "bob")
    post = create_post(
        client, alice["id"], id=424242, user_id=bob["id"], date_posted="2000-01-01T00:00:00Z"
    )
    assert post["id"] != 424242
    assert post["user_id"] == alice["id"]
    assert not post["date_posted"].startswith("2000")
    assert posts_of(client, bob["id"]) == []


def test_create_for_an_unknown_user_is_404_and_creates_nothing(
    client: TestClient, alice: dict
) -> None:
    response = client.post("/users/999/posts", json=HELLO)
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found"}
    assert all_posts(client) == []


def test_longest_allowed_values_are_accepted(client: TestClient, alice: dict) -> None:
    post = create_post(client, alice["id"], title="t" * 100, content="c" * 10000)
    assert read_post(client, post["id"])["title"] == "t" * 100
    assert read_post(client, post["id"])["content"] == "c" * 10000


def test_text_is_kept_exactly(client: TestClient, alice: dict) -> None:
    post = create_post(client, alice["id"], title=" Ünïcødé 🐍 ", content="a\nb\t<c>&amp;")
    assert read_post(client, post["id"])["title"] == " Ünïcødé 🐍 "
    assert read_post(client, post["id"])["content"] == "a\nb\t<c>&amp;"


INVALID_POSTS = [
    {},
    {"title": "Hello"},
    {"content": "Body"},
    {**HELLO, "title": ""},
    {**HELLO, "title": "t" * 101},
    {**HELLO, "title": None},
    {**HELLO, "title": 42},
    {**HELLO, "title": "nul \x00 byte"},
    {**HELLO, "content": ""},
    {**HELLO, "content": "c" * 10001},
    {**HELLO, "content": None},
    {**HELLO, "content": "nul \x00 byte"},
]


def test_invalid_post_is_422_and_creates_nothing(client: TestClient, alice: dict) -> None:
    for body in INVALID_POSTS:
        response = client.post(f"/users/{alice['id']}/posts", json=body)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][0] == "body"
        assert all_posts(client) == []


def test_body_that_is_not_json_is_4xx(client: TestClient, alice: dict) -> None:
    response = client.post(
        f"/users/{alice['id']}/posts",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert 400 <= response.status_code < 500
    assert all_posts(client) == []


# --- lists ------------------------------------------------------------------


def test_lists_start_empty(client: TestClient, alice: dict) -> None:
    assert all_posts(client) == []
    assert posts_of(client, alice["id"]) == []


def test_all_posts_are_listed_by_id(client: TestClient, alice: dict) -> None:
    bob = create_user(client, "bob")
    created = [
        create_post(client, author["id"], title=f"post {n}")
        for n, author in enumerate([alice, bob, alice, bob])
    ]
    assert all_posts(client) == sorted(created, key=lambda post: post["id"])


def test_a_users_posts_are_listed_by_id_without_the_others(client: TestClient, alice: dict) -> None:
    bob = create_user(client, "bob")
    mine = [create_post(client, alice["id"], title=f"mine {n}") for n in range(3)]
    create_post(client, bob["id"], title="not mine")
    assert posts_of(client, alice["id"]) == mine
    assert posts_of(client, alice["id"], skip=1, limit=1) == mine[1:2]
    assert posts_of(client, alice["id"], skip=3) == []


def test_all_posts_page_with_skip_and_limit(client: TestClient, alice: dict) -> None:
    created = [create_post(client, alice["id"], title=f"post {n}") for n in range(5)]
    assert client.get("/posts", params={"skip": 1, "limit": 2}).json() == created[1:3]
    assert client.get("/posts", params={"skip": 4}).json() == created[4:]
    assert client.get("/posts", params={"skip": 10}).json() == []


def test_posts_of_an_unknown_user_is_404(client: TestClient) -> None:
    response = client.get("/users/999/posts")
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found"}


BAD_PAGINATION = [{"skip": -1}, {"limit": 0}, {"limit": 101}, {"skip": "abc"}, {"limit": "1.5"}]


@pytest.mark.parametrize("path", ["/posts", "/users/{user_id}/posts"])
def test_bad_pagination_is_422(client: TestClient, alice: dict, path: str) -> None:
    for params in BAD_PAGINATION:
        response = client.get(path.format(user_id=alice["id"]), params=params)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][0] == "query"


def test_lists_answer_directly_without_redirect(client: TestClient, alice: dict) -> None:
    assert client.get("/posts", follow_redirects=False).status_code == 200
    assert client.get(f"/users/{alice['id']}/posts", follow_redirects=False).status_code == 200


# --- the user with its posts -----------------------------------------------


def test_user_is_read_with_its_posts_ordered_by_id(client: TestClient, alice: dict) -> None:
    bob = create_user(client, "bob")
    mine = [create_post(client, alice["id"], title=f"mine {n}") for n in range(3)]
    create_post(client, bob["id"], title="not mine")
    response = client.get(f"/users/{alice['id']}")
    assert response.status_code == 200
    user = response.json()
    assert {field: user[field] for field in ("id", "username", "email")} == {
        field: alice[field] for field in ("id", "username", "email")
    }
    assert user["posts"] == mine


def test_user_without_posts_has_an_empty_list(client: TestClient, alice: dict) -> None:
    assert client.get(f"/users/{alice['id']}").json()["posts"] == []


def test_deleting_a_user_deletes_its_posts(client: TestClient, alice: dict) -> None:
    bob = create_user(client, "bob")
    alices = [create_post(client, alice["id"], title=f"a{n}") for n in range(3)]
    bobs = create_post(client, bob["id"], title="b")
    assert client.delete(f"/users/{alice['id']}").status_code == 204
    for post in alices:
        assert client.get(f"/posts/{post['id']}").status_code == 404
    assert all_posts(client) == [bobs]
    assert client.get(f"/users/{alice['id']}/posts").status_code == 404


# --- read, PATCH, DELETE ----------------------------------------------------


def test_read_unknown_post_is_404(client: TestClient) -> None:
    response = client.get("/posts/999")
    assert response.status_code == 404
    assert response.json() == {"detail": "Post not found"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/posts/{id}"),
        ("PATCH", "/posts/{id}"),
        ("DELETE", "/posts/{id}"),
        ("GET", "/users/{id}/posts"),
        ("POST", "/users/{id}/posts"),
    ],
)
def test_impossible_ids_are_404_or_422(
    client: TestClient, alice: dict, method: str, path: str
) -> None:
    post = create_post(client, alice["id"])
    for some_id in IMPOSSIBLE_IDS:  # each refused, so each finds the post as it was
        response = client.request(method, path.format(id=some_id), json=HELLO)
        assert response.status_code in (404, 422), f"id {some_id}: {response.text}"
        assert all_posts(client) == [post], f"id {some_id}"


def test_non_integer_id_is_422(client: TestClient) -> None:
    assert client.get("/posts/abc").status_code == 422
    assert client.get("/users/abc/posts").status_code == 422


@pytest.mark.parametrize(
    "changes", [{"title": "New title"}, {"content": "New content"}, {"title": "T", "content": "C"}]
)
def test_patch_changes_only_the_fields_sent(client: TestClient, alice: dict, changes: dict) -> None:
    post = create_post(client, alice["id"])
    response = client.patch(f"/posts/{post['id']}", json=changes)
    assert response.status_code == 200
    assert response.json() == {**post, **changes}
    assert read_post(client, post["id"]) == {**post, **changes}


def test_patch_with_an_empty_body_changes_nothing(client: TestClient, alice: dict) -> None:
    post = create_post(client, alice["id"])
    response = client.patch(f"/posts/{post['id']}", json={})
    assert response.status_code == 200
    assert response.json() == post
    assert read_post(client, post["id"]) == post


def test_patch_cannot_move_a_post_or_change_its_date(client: TestClient, alice: dict) -> None:
    bob = create_user(client, "bob")
    post = create_post(client, alice["id"])
    body = {"user_id": bob["id"], "id": 999, "date_posted": "2000-01-01T00:00:00Z"}
    response = client.patch(f"/posts/{post['id']}", json=body)
    assert response.status_code == 200
    assert read_post(client, post["id"]) == post
    assert posts_of(client, bob["id"]) == []


INVALID_PATCHES = [
    {"title": None},
    {"content": None},
    {"title": ""},
    {"title": "t" * 101},
    {"content": ""},
    {"content": "c" * 10001},
    {"title": "nul \x00 byte"},
    {"title": "Valid", "content": None},
]


def test_invalid_patch_is_422_and_changes_nothing(client: TestClient, alice: dict) -> None:
    post = create_post(client, alice["id"])
    for body in INVALID_PATCHES:
        response = client.patch(f"/posts/{post['id']}", json=body)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][0] == "body"
        assert read_post(client, post["id"]) == post


def test_patch_unknown_post_is_404(client: TestClient, alice: dict) -> None:
    response = client.patch("/posts/999", json={"title": "Ghost"})
    assert response.status_code == 404
    assert response.json() == {"detail": "Post not found"}


def test_delete_is_204_with_an_empty_body(client: TestClient, alice: dict) -> None:
    post = create_post(client, alice["id"])
    other = create_post(client, alice["id"], title="Other")
    response = client.delete(f"/posts/{post['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"/posts/{post['id']}").status_code == 404
    assert all_posts(client) == [other]
    assert client.get(f"/users/{alice['id']}").json()["posts"] == [other]


def test_delete_unknown_post_is_404(client: TestClient, alice: dict) -> None:
    post = create_post(client, alice["id"])
    response = client.delete("/posts/999")
    assert response.status_code == 404
    assert response.json() == {"detail": "Post not found"}
    assert all_posts(client) == [post]


def test_deleting_twice_is_404_the_second_time(client: TestClient, alice: dict) -> None:
    post = create_post(client, alice["id"])
    assert client.delete(f"/posts/{post['id']}").status_code == 204
    assert client.delete(f"/posts/{post['id']}").status_code == 404


# --- OpenAPI ----------------------------------------------------------------


def test_openapi_declares_the_errors_of_each_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    nested = paths["/users/{user_id}/posts"]
    assert set(nested["post"]["responses"]) >= {"201", "404", "422"}
    assert set(nested["get"]["responses"]) >= {"200", "404", "422"}
    assert set(paths["/posts"]["get"]["responses"]) >= {"200", "422"}
    item = paths["/posts/{post_id}"]
    assert set(item["get"]["responses"]) >= {"200", "404", "422"}
    assert set(item["patch"]["responses"]) >= {"200", "404", "422"}
    assert set(item["delete"]["responses"]) >= {"204", "404", "422"}


def test_openapi_shows_the_user_with_its_posts(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    response = spec["paths"]["/users/{user_id}"]["get"]["responses"]["200"]
    name = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    posts = spec["components"]["schemas"][name]["properties"]["posts"]
    assert posts["type"] == "array"
    assert posts["items"]["$ref"].startswith("#/components/schemas/")


def test_a_post_id_is_never_given_twice(client: TestClient) -> None:
    author = create_user(client)
    newest = create_post(client, author["id"])
    assert client.delete(f"/posts/{newest['id']}").status_code == 204
    after = create_post(client, author["id"])
    assert after["id"] > newest["id"]
    assert client.get(f"/posts/{newest['id']}").status_code == 404
