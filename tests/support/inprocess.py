"""The suite's HTTP client: the app runs in the test's own thread, on an event loop of its own.

Starlette's TestClient runs the app in a second thread and streams every
request and response across it through an anyio portal: a dozen thread hops
per request, about 2 ms of CPU each time, more than the app itself takes to
answer most contract tests. This client makes the same exchange with
httpx's own ASGI transport, from the test's thread: each request is run on
the client's event loop until the app has answered. As under TestClient, the
app's lifespan runs from `with` to the end of the block (its state in every
request's scope), and an exception the app raises is raised in the test.

TestClient is what to use in a project's own tests (the exported projects'
tests use this client because they are this suite's).
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Any

import httpx2

BASE_URL = "http://testserver"
# Who the app sees asking (scope["client"]), as under TestClient.
PEER = ("testclient", 50000)


class LifespanFailed(RuntimeError):
    """The app reported that its start-up or shutdown failed, without raising."""


class AppTransport(httpx2.BaseTransport):
    """httpx's ASGI transport, driven from this thread: each request runs on `loop` until answered.

    httpx2.ASGITransport makes the ASGI exchange (scope, receive, send) but is
    asynchronous; the suite's tests are not. The requests all run in one task
    of the loop, one after the other, as a server's connection serves them.
    """

    def __init__(self, app: Any, loop: asyncio.AbstractEventLoop, state: dict) -> None:
        self.loop = loop
        self.asgi = httpx2.ASGITransport(app=with_state(app, state), client=PEER)
        self.host: asyncio.Task | None = None
        self.jobs: asyncio.Queue[tuple[Any, asyncio.Future]] = asyncio.Queue()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        request.read()  # a body given as an iterator is sent as one piece
        if self.host is None:
            self.host = self.loop.create_task(self.serve())
        answer = self.loop.create_future()
        self.jobs.put_nowait((self.exchange(request), answer))
        return self.loop.run_until_complete(answer)

    async def exchange(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.asgi.handle_async_request(request)
        body = await response.aread()
        return httpx2.Response(response.status_code, headers=response.headers, content=body)

    async def serve(self) -> None:
        """Run the requests one by one, all in this one task.

        anyio gives the worker threads that run a sync route or dependency to
        the task it takes for the root: a request run as a task of its own
        would start a new thread each time, and stop it when it ends.
        """
        while True:
            exchange, answer = await self.jobs.get()
            try:
                answer.set_result(await exchange)
            except Exception as error:  # raised in the test, as under TestClient
                answer.set_exception(error)

    def close(self) -> None:
        if self.host is not None:
            self.host.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                self.loop.run_until_complete(self.host)
            self.host = None


def with_state(app: Any, state: dict) -> Any:
    """The app, with a copy of what its lifespan yielded in each request's scope, as servers do."""

    async def app_with_state(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "state": state.copy()}
        await app(scope, receive, send)

    return app_with_state


class InProcessClient(httpx2.Client):
    """An httpx client of the app, whose lifespan runs from `with` to the end of the block."""

    def __init__(self, app: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.app = app
        self.state: dict[str, Any] = {}  # what the lifespan yields, in every request's scope
        self.lifespan_events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.reported = self.loop.create_future()
        self.lifespan: asyncio.Task | None = None
        super().__init__(
            base_url=BASE_URL,
            headers={"user-agent": "testclient"},
            follow_redirects=True,
            transport=AppTransport(app, self.loop, self.state),
        )
        # What it sends with every request; a test that changes them gets them back.
        self.initial_headers = httpx2.Headers(self.headers)

    def __enter__(self) -> InProcessClient:
        super().__enter__()
        self.lifespan = self.loop.create_task(self.run_lifespan())
        try:
            self.tell_lifespan("lifespan.startup")
        except BaseException:  # the start-up failed: nothing is left open
            super().__exit__(None, None, None)
            self.loop.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        try:
            if self.lifespan is not None and not self.lifespan.done():
                self.reported = self.loop.create_future()
                self.tell_lifespan("lifespan.shutdown")
                self.loop.run_until_complete(self.lifespan)
        finally:
            super().__exit__(exc_type, exc, tb)  # the transport's task ends
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def tell_lifespan(self, event: str) -> None:
        """Send the app a lifespan event and wait until it reports back (or raises)."""
        lifespan = self.lifespan
        assert lifespan is not None
        self.lifespan_events.put_nowait({"type": event})
        self.loop.run_until_complete(
            asyncio.wait({lifespan, self.reported}, return_when=asyncio.FIRST_COMPLETED)
        )
        # A failed start-up is both reported ("lifespan.startup.failed") and raised
        # by the lifespan; asking for the report's exception marks it as seen, or
        # asyncio logs "Future exception was never retrieved" when it is freed,
        # at the end of the run, after the judge's last line.
        failure = self.reported.exception() if self.reported.done() else None
        if lifespan.done() and lifespan.exception() is not None:
            raise lifespan.exception()  # type: ignore[misc]  # the app's, with its traceback
        if failure is not None:
            raise failure
        # Else the app reported success, or has no lifespan (it returned at once).

    async def run_lifespan(self) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }

        async def send(message: dict[str, Any]) -> None:
            outcome = message["type"].rsplit(".", 1)[-1]
            if outcome == "complete":
                self.reported.set_result(None)
            elif outcome == "failed":
                self.reported.set_exception(LifespanFailed(message.get("message", "")))

        await self.app(scope, self.lifespan_events.get, send)
