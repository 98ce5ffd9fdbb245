"""Step 8's app started on settings of a test's choosing, and the ports its tests point Redis at."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

from shared.catalog import Step
from tests.support import apps, auth
from tests.support.inprocess import InProcessClient

WRONG = "not the password"
StartWith = Callable[..., AbstractContextManager[InProcessClient]]


@pytest.fixture
def start_with(
    step: Step, database_url: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> StartWith:
    """Start the step's app on these settings (environment variables), on the test's database."""

    @contextmanager
    def started(**settings: str) -> Iterator[InProcessClient]:
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        app = apps.load(step, database_url, monkeypatch)
        auth.hash_cheaply(step, request)
        with InProcessClient(app) as client:
            yield client

    return started


def closed_port() -> int:
    """A local port nothing listens on: a connection to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A local port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def attempt(client: InProcessClient, username: str, password: str = WRONG):
    """A login attempt (a wrong password unless told otherwise)."""
    return client.post("/auth/token", data={"username": username, "password": password})
