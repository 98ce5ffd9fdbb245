"""Many clients at once, against a real uvicorn.

FastAPI runs `def` endpoints in a thread pool, so requests that arrive
together run together: two sign-ups may check "is this username free?" at the
same moment, and SQLite lets one writer in at a time. These tests start the
step the way a learner does (`uvicorn steps.<package>.main:app`) and hit it
from many threads, released together by a barrier. Each test also checks that
its requests were in flight together (sent, not yet answered): a race that did
not happen would pass without proving anything. Every loop is bounded in
count, every wait in time; all traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import httpx2
import pytest

from shared.catalog import Step
from shared.server import UvicornServer
from tests.support import auth

pytestmark = pytest.mark.taught("why-it-is-built-this-way")

REQUEST_TIMEOUT = 30.0
RACERS = 20
# A race needs requests in flight together, not many of them: ten writers
# already collide on SQLite's one write lock, and more tasks (this was 20
# each) only made the test longer, not the race any different.
WRITERS = 10
TASKS_PER_WRITER = 10
MIXED_CLIENTS = 8
# A count, not a time (this ran for 3 s): the same requests on every run, on
# an idle machine or a busy one. 160 in all, 95 of them writes, and (when
# measured) all 8 clients' requests in flight at once, as in a longer run.
MIXED_REQUESTS_PER_CLIENT = 20

T = TypeVar("T")


class InFlight:
    """The most requests in flight at once: sent by a client, not yet answered.

    Counted by the clients' event hooks. More than one means the server had
    several of them to handle at the same time: the race did happen.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._now = 0
        self.most = 0

    def sent(self, request: httpx2.Request) -> None:
        with self._lock:
            self._now += 1
            self.most = max(self.most, self._now)

    def answered(self, response: httpx2.Response) -> None:
        with self._lock:
            self._now -= 1


def all_at_once(
    count: int,
    call: Callable[[httpx2.Client, int], T],
    base_url: str,
    http_auth: httpx2.Auth | None = None,
) -> list[T]:
    """Run `call(client, n)` for n in 0..count-1, each in its own thread, released together.

    Fails unless some of the requests were in flight at the same time.
    """
    barrier = threading.Barrier(count)
    in_flight = InFlight()
    hooks = {"request": [in_flight.sent], "response": [in_flight.answered]}

    def run(number: int) -> T:
        with httpx2.Client(
            base_url=base_url, timeout=REQUEST_TIMEOUT, auth=http_auth, event_hooks=hooks
        ) as client:
            barrier.wait(timeout=REQUEST_TIMEOUT)
            return call(client, number)

    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(run, range(count)))
    assert in_flight.most > 1, "the requests never overlapped: nothing raced"
    return results


def listed(client: httpx2.Client, collection: str) -> list[dict]:
    """Every item of a collection, page by page (a page holds at most 100)."""
    items: list[dict] = []
    for _ in range(100):  # at most 10,000 items: far more than any test creates
        page = client.get(collection, params={"skip": len(items), "limit": 100}).json()
        items += page
        if len(page) < 100:
            return items
    raise AssertionError(f"{collection} has more than 10,000 items")


def assert_log_is_clean(server: UvicornServer) -> None:
    log = server.log()
    assert "database is locked" not in log, log
    assert "Traceback" not in log, log


@pytest.mark.requires("users")
def test_twenty_sign_ups_racing_for_one_username_give_one_user(
    server: UvicornServer, step: Step
) -> None:
    def sign_up(client: httpx2.Client, number: int) -> httpx2.Response:
        return client.post(
            "/users", json={"username": "racer", "email": f"racer{number}@example.com"}
        )

    responses = all_at_once(RACERS, sign_up, server.url, auth.acting_as_owner(step))

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: 1, 409: RACERS - 1}, statuses
    for response in responses:
        if response.status_code == 409:
            assert "username" in response.json()["detail"].lower(), response.text
    with httpx2.Client(base_url=server.url) as client:
        users = listed(client, "/users")
    assert [user["username"] for user in users] == ["racer"]
    assert_log_is_clean(server)


@pytest.mark.requires("users")
def test_twenty_sign_ups_racing_for_one_email_give_one_user(
    server: UvicornServer, step: Step
) -> None:
    def sign_up(client: httpx2.Client, number: int) -> httpx2.Response:
        # The same address in different cases: emails are unique whatever the case.
        email = "Racer@Example.com" if number % 2 else "racer@example.COM"
        return client.post("/users", json={"username": f"racer{number}", "email": email})

    responses = all_at_once(RACERS, sign_up, server.url, auth.acting_as_owner(step))

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: 1, 409: RACERS - 1}, statuses
    for response in responses:
        if response.status_code == 409:
            assert "email" in response.json()["detail"].lower(), response.text
    with httpx2.Client(base_url=server.url) as client:
        users = listed(client, "/users")
    assert [user["email"] for user in users] == ["racer@example.com"]
    assert_log_is_clean(server)


@pytest.mark.requires("tasks")
def test_ten_writers_creating_ten_tasks_each_lose_none(server: UvicornServer) -> None:
    def write(client: httpx2.Client, writer: int) -> list[httpx2.Response]:
        return [
            client.post("/tasks", json={"title": f"writer {writer} task {n}"})
            for n in range(TASKS_PER_WRITER)
        ]

    responses = [r for batch in all_at_once(WRITERS, write, server.url) for r in batch]

    assert Counter(r.status_code for r in responses) == {201: WRITERS * TASKS_PER_WRITER}
    acknowledged = {r.json()["id"]: r.json()["title"] for r in responses}
    assert len(acknowledged) == WRITERS * TASKS_PER_WRITER, "two tasks got the same id"
    with httpx2.Client(base_url=server.url) as client:
        tasks = listed(client, "/tasks")
    assert {task["id"]: task["title"] for task in tasks} == acknowledged
    assert [task["id"] for task in tasks] == sorted(acknowledged), "not ordered by id"
    assert_log_is_clean(server)


def mixed_traffic(client: httpx2.Client, number: int) -> Counter[int]:
    """MIXED_REQUESTS_PER_CLIENT random reads and writes on tasks; the status codes seen."""
    rng = random.Random(number)  # the same mix on every run
    statuses: Counter[int] = Counter()
    mine: list[int] = []
    for n in range(MIXED_REQUESTS_PER_CLIENT):
        action = rng.choice(["create", "create", "list", "list", "read", "replace", "delete"])
        if action == "create" or not mine:
            response = client.post("/tasks", json={"title": f"client {number} task {n}"})
            if response.status_code == 201:
                mine.append(response.json()["id"])
        elif action == "list":
            response = client.get("/tasks", params={"skip": rng.randrange(50), "limit": 20})
        elif action == "read":
            response = client.get(f"/tasks/{rng.choice(mine)}")
        elif action == "replace":
            body = {"title": f"client {number} edit {n}", "completed": True}
            response = client.put(f"/tasks/{rng.choice(mine)}", json=body)
        else:
            response = client.delete(f"/tasks/{mine.pop(rng.randrange(len(mine)))}")
        statuses[response.status_code] += 1
    return statuses


@pytest.mark.requires("tasks")
def test_mixed_reads_and_writes_never_fail(server: UvicornServer) -> None:
    statuses = sum(all_at_once(MIXED_CLIENTS, mixed_traffic, server.url), Counter())

    # Each client only touches its own tasks: every request must succeed.
    assert set(statuses) <= {200, 201, 204}, statuses
    assert statuses[201] > 0
    assert statuses[204] > 0
    assert_log_is_clean(server)
