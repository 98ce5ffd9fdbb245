"""The endpoint catalogue: what each row of the benchmark sends, and what it expects back.

Which endpoints a step is measured on follows from the features the catalog
gives it, so a new step is benchmarked by adding its catalog entry.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from shared.bench.driver import Request
from shared.bench.seed import PASSWORD, username
from shared.catalog import Step


@dataclass(frozen=True)
class Data:
    """What a served step's database holds, and who the benchmark is logged in as."""

    user_ids: tuple[int, ...] = ()
    # A token of a user signed up and logged in through the API (steps with
    # passwords), and that user's id; the user has no posts.
    token: str = ""
    me: int = 0


RequestMaker = Callable[[int, str, Data], list[Request]]


@dataclass(frozen=True)
class Endpoint:
    name: str
    feature: str
    expected_status: int
    make: RequestMaker
    # Hashes a password on a step with passwords ("auth").
    hashing: bool = False

    def hashes(self, step: Step) -> bool:
        return self.hashing and step.offers("auth")


def json_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def _spread(user_ids: Sequence[int], count: int) -> Iterator[int]:
    """Every user in turn, in a scattered order (a prime stride), not only the first."""
    for n in range(count):
        yield user_ids[(n * 7919) % len(user_ids)]


def _bearer(data: Data) -> tuple[tuple[str, str], ...]:
    return (("Authorization", f"Bearer {data.token}"),)


def log_in_form(name: str) -> bytes:
    return urllib.parse.urlencode({"username": name, "password": PASSWORD}).encode()


FORM = "application/x-www-form-urlencoded"

ENDPOINTS = (
    Endpoint(
        "GET /tasks?limit=100",
        "tasks",
        200,
        lambda count, _tag, _data: [Request("GET", "/tasks?limit=100")] * count,
    ),
    Endpoint(
        "GET /users/{id}",
        "users",
        200,
        lambda count, _tag, data: [
            Request("GET", f"/users/{i}") for i in _spread(data.user_ids, count)
        ],
    ),
    Endpoint(
        "GET /posts?limit=100",
        "posts",
        200,
        lambda count, _tag, _data: [Request("GET", "/posts?limit=100")] * count,
    ),
    Endpoint(
        "POST /tasks",
        "tasks",
        201,
        lambda count, tag, _data: [
            Request("POST", "/tasks", json_body({"title": f"Task {tag} {n}"})) for n in range(count)
        ],
    ),
    Endpoint(
        "POST /users",
        "users",
        201,
        lambda count, tag, _data: [
            Request(
                "POST",
                "/users",
                # Steps before 6 ignore the password, as they ignore any unknown field.
                json_body(
                    {
                        "username": f"{tag}{n}",
                        "email": f"{tag}{n}@example.com",
                        "password": PASSWORD,
                    }
                ),
            )
            for n in range(count)
        ],
        hashing=True,
    ),
    # Step 6 on: the same user read with a token and without one (the
    # difference is the token check), a write with a token, and the login.
    Endpoint(
        "GET /users/me",
        "auth",
        200,
        lambda count, _tag, data: [Request("GET", "/users/me", headers=_bearer(data))] * count,
    ),
    Endpoint(
        "GET /users/{own id}",
        "auth",
        200,
        lambda count, _tag, data: [Request("GET", f"/users/{data.me}")] * count,
    ),
    Endpoint(
        "PATCH /users/{own id}",
        "auth",
        200,
        lambda count, tag, data: [
            Request(
                "PATCH",
                f"/users/{data.me}",
                json_body({"full_name": f"Bench {tag} {n}"}),
                headers=_bearer(data),
            )
            for n in range(count)
        ],
    ),
    Endpoint(
        "POST /auth/token",
        "auth",
        200,
        lambda count, _tag, data: [
            Request("POST", "/auth/token", log_in_form(username(n)), content_type=FORM)
            for n in _spread(range(len(data.user_ids)), count)
        ],
        hashing=True,
    ),
)
ENDPOINTS_BY_NAME = {endpoint.name: endpoint for endpoint in ENDPOINTS}

CEILING = Endpoint("GET /", "", 200, lambda count, _tag, _data: [Request("GET", "/")] * count)
