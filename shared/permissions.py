"""Who may do what, from step 6 on: the permission matrix, as data.

tests/lesson/test_permissions.py sends every request below as each of four callers and
expects the status written in its column; the step 6 page shows this same
table. One table, two readers: the page cannot promise a rule the tests do
not check.

The callers:
- anonymous: no token at all;
- owner: the user named in the path, or the author of the post in it;
- other: another member, logged in;
- admin: an admin, logged in (never the owner).

In a path, `{user}` is the owner's id, `{post}` a post the owner wrote,
`{task}` a task, and `{missing}` an id that nothing has. Each request runs
on its own fresh database, where these exist (and `{missing}` does not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CALLERS = ("anonymous", "owner", "other", "admin")

OWNER_PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a new password, long enough"

# The bodies the requests send.
SIGN_UP = {"username": "newcomer", "email": "newcomer@example.com", "password": NEW_PASSWORD}
SIGN_UP_WITH_ROLE = {**SIGN_UP, "role": "member"}  # any role, even the default
NAME = {"full_name": "Ada King"}
ROLE = {"role": "admin"}
PASSWORD = {"password": NEW_PASSWORD}
PASSWORD_AND_CURRENT = {"password": NEW_PASSWORD, "current_password": OWNER_PASSWORD}
POST = {"title": "Notes", "content": "On the Analytical Engine"}
TITLE = {"title": "Note G"}
TASK = {"title": "Buy milk"}


@dataclass(frozen=True)
class Rule:
    method: str
    path: str
    body: dict[str, Any] | None
    anonymous: int
    owner: int
    other: int
    admin: int

    def expected(self, caller: str) -> int:
        return getattr(self, caller)

    @property
    def label(self) -> str:
        """For test ids: `PATCH /users/{user} password+current_password`."""
        sent = " " + "+".join(self.body) if self.body else ""
        return f"{self.method} {self.path}{sent}"


# fmt: off
# --8<-- [start:matrix]
RULES = (
    #    method    path                     body                  anon owner other admin
    # Reads are open to anyone; /users/me needs a token.
    Rule("GET",    "/users",                None,                 200, 200,  200,  200),
    Rule("GET",    "/users/me",             None,                 401, 200,  200,  200),
    Rule("GET",    "/users/{user}",         None,                 200, 200,  200,  200),
    Rule("GET",    "/users/{user}/posts",   None,                 200, 200,  200,  200),
    Rule("GET",    "/posts",                None,                 200, 200,  200,  200),
    Rule("GET",    "/posts/{post}",         None,                 200, 200,  200,  200),
    # Anyone may sign up; only an admin may choose the new user's role.
    Rule("POST",   "/users",                SIGN_UP,              201, 201,  201,  201),
    Rule("POST",   "/users",                SIGN_UP_WITH_ROLE,    403, 403,  403,  201),
    # A user changes their own account (their password only with the current
    # one); an admin changes anyone's, role included.
    Rule("PATCH",  "/users/{user}",         NAME,                 401, 200,  403,  200),
    Rule("PATCH",  "/users/{user}",         ROLE,                 401, 403,  403,  200),
    Rule("PATCH",  "/users/{user}",         PASSWORD,             401, 403,  403,  200),
    Rule("PATCH",  "/users/{user}",         PASSWORD_AND_CURRENT, 401, 200,  403,  200),
    Rule("DELETE", "/users/{user}",         None,                 401, 204,  403,  204),
    # Posts: written as their author (or by an admin), changed by them too.
    Rule("POST",   "/users/{user}/posts",   POST,                 401, 201,  403,  201),
    Rule("PATCH",  "/posts/{post}",         TITLE,                401, 200,  403,  200),
    Rule("DELETE", "/posts/{post}",         None,                 401, 204,  403,  204),
    # Who is asking is checked before what exists: 401 comes before 404.
    Rule("PATCH",  "/users/{missing}",      NAME,                 401, 404,  404,  404),
    Rule("DELETE", "/users/{missing}",      None,                 401, 404,  404,  404),
    Rule("POST",   "/users/{missing}/posts", POST,                401, 404,  404,  404),
    Rule("PATCH",  "/posts/{missing}",      TITLE,                401, 404,  404,  404),
    Rule("DELETE", "/posts/{missing}",      None,                 401, 404,  404,  404),
    # Tasks keep step 5's rules: they belong to no one, and anyone may change them.
    Rule("POST",   "/tasks",                TASK,                 201, 201,  201,  201),
    Rule("PUT",    "/tasks/{task}",         TASK,                 200, 200,  200,  200),
    Rule("DELETE", "/tasks/{task}",         None,                 204, 204,  204,  204),
)
# --8<-- [end:matrix]
# fmt: on
