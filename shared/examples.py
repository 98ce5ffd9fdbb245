"""The example requests of every step, as data.

The docs show them (curl, HTTPie and httpx, each with the response the step's
app really gives, captured at build time by `shared.docsgen`), and
tests/tutorial/test_examples.py sends the same requests through the suite's client, so
a page can never show a response the code does not give.

A step shows the examples of the features it adds over the step before it.
Each list runs in order on an empty database, so the ids are 1, 2, ... and a
later request can use what an earlier one created.

`expect` is the shape of the response body: a dict must have exactly these
keys, a list exactly these items, a type (`int`, `str`, `list`) matches any
value of that type, and anything else must be equal. `None` means no body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.catalog import Step, previous


@dataclass(frozen=True)
class Example:
    title: str
    method: str
    path: str
    status: int
    expect: Any = None
    body: dict[str, Any] | None = None


def conforms(actual: Any, expected: Any) -> bool:
    """Whether a decoded JSON body has the shape `expected` (see above)."""
    if isinstance(expected, type):
        return isinstance(actual, expected) and not (expected is int and isinstance(actual, bool))
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(conforms(actual[key], value) for key, value in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(conforms(item, shape) for item, shape in zip(actual, expected, strict=True))
        )
    return actual == expected and type(actual) is type(expected)


def task(id_: int, title: str, description: str = "", completed: bool = False) -> dict:
    return {"id": id_, "title": title, "description": description, "completed": completed}


VALIDATION_ERROR = {"detail": list}

TASKS = (
    Example(
        "Create a task",
        "POST",
        "/tasks",
        201,
        task(1, "Buy milk"),
        body={"title": "Buy milk"},
    ),
    Example(
        "Create another one, with every field",
        "POST",
        "/tasks",
        201,
        task(2, "Write the report", "Due on Friday", completed=False),
        body={"title": "Write the report", "description": "Due on Friday", "completed": False},
    ),
    Example(
        "List the tasks, ordered by id",
        "GET",
        "/tasks",
        200,
        [task(1, "Buy milk"), task(2, "Write the report", "Due on Friday")],
    ),
    Example(
        "Replace a task: PUT sends the whole task",
        "PUT",
        "/tasks/1",
        200,
        task(1, "Buy milk", completed=True),
        body={"title": "Buy milk", "completed": True},
    ),
    Example("Read one task", "GET", "/tasks/1", 200, task(1, "Buy milk", completed=True)),
    Example("Delete a task", "DELETE", "/tasks/2", 204),
    Example(
        "A deleted task is gone",
        "GET",
        "/tasks/2",
        404,
        {"detail": "Task not found"},
    ),
    Example(
        "An empty title is refused",
        "POST",
        "/tasks",
        422,
        VALIDATION_ERROR,
        body={"title": ""},
    ),
)


def user(id_: int, username: str, email: str, full_name: str | None, **more: Any) -> dict:
    return {"id": id_, "username": username, "email": email, "full_name": full_name, **more}


ADA = {"username": "ada", "email": "Ada@Example.com", "full_name": "Ada Lovelace"}

USERS = (
    Example(
        "Create a user: the e-mail address is stored in lower case",
        "POST",
        "/users",
        201,
        user(1, "ada", "ada@example.com", "Ada Lovelace"),
        body=ADA,
    ),
    Example(
        "A username is unique: 409 Conflict",
        "POST",
        "/users",
        409,
        {"detail": "Username already taken"},
        body={"username": "ada", "email": "another@example.com"},
    ),
    Example(
        "So is an e-mail address, whatever its case",
        "POST",
        "/users",
        409,
        {"detail": "Email already registered"},
        body={"username": "countess", "email": "ADA@example.com"},
    ),
    Example(
        "PATCH changes only the fields it sends; null clears the full name",
        "PATCH",
        "/users/1",
        200,
        user(1, "ada", "ada@example.com", None),
        body={"full_name": None},
    ),
    Example(
        "List the users",
        "GET",
        "/users",
        200,
        [user(1, "ada", "ada@example.com", None)],
    ),
    Example("Delete a user", "DELETE", "/users/1", 204),
    Example("A deleted user is gone", "GET", "/users/1", 404, {"detail": "User not found"}),
)


def post(id_: int, title: str, content: str, user_id: int) -> dict:
    return {"id": id_, "title": title, "content": content, "user_id": user_id, "date_posted": str}


POSTS = (
    Example(
        "Create a user",
        "POST",
        "/users",
        201,
        user(1, "ada", "ada@example.com", "Ada Lovelace"),
        body=ADA,
    ),
    Example(
        "Create a post: its author comes from the URL, its date from the server",
        "POST",
        "/users/1/posts",
        201,
        post(1, "Notes", "On the Analytical Engine", 1),
        body={"title": "Notes", "content": "On the Analytical Engine"},
    ),
    Example(
        "A user comes with their posts",
        "GET",
        "/users/1",
        200,
        user(
            1,
            "ada",
            "ada@example.com",
            "Ada Lovelace",
            posts=[post(1, "Notes", "On the Analytical Engine", 1)],
        ),
    ),
    Example(
        "Change a post's title",
        "PATCH",
        "/posts/1",
        200,
        post(1, "Note G", "On the Analytical Engine", 1),
        body={"title": "Note G"},
    ),
    Example(
        "No post without an author",
        "POST",
        "/users/2/posts",
        404,
        {"detail": "User not found"},
        body={"title": "Orphan", "content": "Nobody wrote this"},
    ),
    Example("Delete the user", "DELETE", "/users/1", 204),
    Example(
        "Their posts went with them (ON DELETE CASCADE)",
        "GET",
        "/posts/1",
        404,
        {"detail": "Post not found"},
    ),
)

ROLES = (
    Example(
        "A new user is a member unless told otherwise",
        "POST",
        "/users",
        201,
        user(1, "ada", "ada@example.com", "Ada Lovelace", role="member"),
        body=ADA,
    ),
    Example(
        "Make them an admin",
        "PATCH",
        "/users/1",
        200,
        user(1, "ada", "ada@example.com", "Ada Lovelace", role="admin"),
        body={"role": "admin"},
    ),
    Example(
        "Any other role is refused",
        "PATCH",
        "/users/1",
        422,
        VALIDATION_ERROR,
        body={"role": "owner"},
    ),
)

# Step 6. Logging in sends a form and later requests a header, which these
# JSON examples cannot carry: the step's page shows those two by hand.
ADA_WITH_PASSWORD = {**ADA, "password": "correct horse battery staple"}

AUTH = (
    Example(
        "Sign up with a password: it is stored as an Argon2id hash, and never shown",
        "POST",
        "/users",
        201,
        user(1, "ada", "ada@example.com", "Ada Lovelace", role="member"),
        body=ADA_WITH_PASSWORD,
    ),
    Example(
        "A password has 8 to 128 characters, and a 422 never repeats it",
        "POST",
        "/users",
        422,
        VALIDATION_ERROR,
        body={"username": "grace", "email": "grace@example.com", "password": "hopper"},
    ),
    Example(
        "Anyone may sign up, but only an admin may choose a role",
        "POST",
        "/users",
        403,
        {"detail": "Only an admin may choose a role"},
        body={
            "username": "grace",
            "email": "grace@example.com",
            "password": "a long enough password",
            "role": "admin",
        },
    ),
    Example(
        "Changing a user needs a token",
        "PATCH",
        "/users/1",
        401,
        {"detail": "Not authenticated"},
        body={"full_name": "Ada King"},
    ),
    Example(
        "Who is asking comes first: no token, no 404 either",
        "DELETE",
        "/posts/99",
        401,
        {"detail": "Not authenticated"},
    ),
    Example(
        "Reads stay open to anyone",
        "GET",
        "/users/1",
        200,
        user(1, "ada", "ada@example.com", "Ada Lovelace", role="member", posts=[]),
    ),
)

# Step 7: the same API, served by async endpoints. The requests of step 6
# answer the same; these show the parts async changed underneath: a password
# hashed in a worker thread, a user's posts loaded in the same query, and a
# lookup that finds nothing.
ASYNC = (
    Example(
        "Sign up: the Argon2id hash is made in a worker thread, the event loop serves others",
        "POST",
        "/users",
        201,
        user(1, "ada", "ada@example.com", "Ada Lovelace", role="member"),
        body=ADA_WITH_PASSWORD,
    ),
    Example(
        "A user with their posts: loaded in the same query, never lazily",
        "GET",
        "/users/1",
        200,
        user(1, "ada", "ada@example.com", "Ada Lovelace", role="member", posts=[]),
    ),
    Example(
        "A post that does not exist: the awaited query finds nothing, the answer is a 404",
        "GET",
        "/posts/999",
        404,
        {"detail": "Post not found"},
    ),
)

# Step 8: the same API again, ready for production. These show what it adds
# for the machines around it: the health checks a load balancer asks. (The
# request id, CORS and the login limit live in headers and forms, which
# these JSON examples cannot carry: the step's page shows them by hand.)
PRODUCTION = (
    Example("Alive: the process serves requests", "GET", "/health/live", 200, {"status": "ok"}),
    Example(
        "Ready: the database answers within a second (and Redis, when it is configured)",
        "GET",
        "/health/ready",
        200,
        {"status": "ok", "checks": {"database": "ok"}},
    ),
    Example(
        "The API is step 7's, unchanged",
        "POST",
        "/users",
        201,
        user(1, "ada", "ada@example.com", "Ada Lovelace", role="member"),
        body=ADA_WITH_PASSWORD,
    ),
    Example(
        "Its errors too: the same JSON, whichever worker answers",
        "GET",
        "/users/999",
        404,
        {"detail": "User not found"},
    ),
)

# The examples that show a feature; a step shows those of the features it adds.
BY_FEATURE: dict[str, tuple[Example, ...]] = {
    "tasks": TASKS,
    # Same API as step 1: the same requests give the same answers, but now
    # they are still there after a restart.
    "persistent": TASKS,
    "users": USERS,
    "posts": POSTS,
    "role": ROLES,
    "auth": AUTH,
    "async": ASYNC,
    "production": PRODUCTION,
}


def new_features(step: Step) -> frozenset[str]:
    before = previous(step)
    return step.features - (before.features if before else frozenset())


def for_step(step: Step) -> tuple[Example, ...]:
    """The examples a step's page shows, in the order they run."""
    shown: list[Example] = []
    for feature in sorted(new_features(step)):
        shown.extend(BY_FEATURE.get(feature, ()))
    return tuple(shown)
