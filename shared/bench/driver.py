"""The load driver: a fixed number of HTTP/1.1 requests over a fixed number of
keep-alive connections, each connection sending its next request as soon as
the previous answer is in (a closed loop, like wrk or hey).

It runs in the benchmark's own process, never in the server's. Requests are
encoded before the clock starts and responses are parsed with httptools
(uvicorn's own C parser), so that on 2 cores the driver is not the bottleneck:
a driver built on a full HTTP client library spends more CPU per request than
the server it measures, and every ratio it reports is then the driver's.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httptools

HOST = "127.0.0.1"
REQUEST_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"

    def encode(self, port: int) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {HOST}:{port}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.body is not None:
            lines += [f"Content-Type: {self.content_type}", f"Content-Length: {len(self.body)}"]
        head = "\r\n".join([*lines, "", ""]).encode("ascii")
        return head + (self.body or b"")


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    latencies_s: tuple[float, ...]
    errors: dict[str, int]

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile_ms(self, percent: float) -> float:
        """Nearest-rank percentile: `percent` % of the answers came at least this fast."""
        if not self.latencies_s:
            return math.nan
        ordered = sorted(self.latencies_s)
        rank = max(1, math.ceil(percent / 100 * len(ordered)))
        return ordered[rank - 1] * 1000

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "requests_per_s": round(self.requests_per_s, 1),
            "p50_ms": round(self.percentile_ms(50), 2),
            "p99_ms": round(self.percentile_ms(99), 2),
            "errors": self.error_count,
            "error_kinds": dict(sorted(self.errors.items())),
        }


class _Answer:
    """One response, parsed with httptools as it arrives: its status and whether it is whole."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.complete = False
        self.keep_alive = False

    def on_headers_complete(self) -> None:
        # Asked here, not at the end: once the message is complete, httptools
        # (llhttp) has reset its flags and always says False.
        self.keep_alive = self.parser.should_keep_alive()

    def on_message_complete(self) -> None:
        self.complete = True


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.open = True

    @classmethod
    async def connect(cls, port: int) -> _Connection:
        return cls(*await asyncio.open_connection(HOST, port))

    async def exchange(self, payload: bytes) -> int:
        """Send one request and read its whole response; return the status code."""
        self.writer.write(payload)
        answer = _Answer()
        while not answer.complete:
            data = await self.reader.read(65536)
            if not data:
                self.open = False
                raise ConnectionResetError("the server closed the connection")
            answer.parser.feed_data(data)
        self.open = answer.keep_alive
        return answer.parser.get_status_code()

    async def close(self) -> None:
        """Close the socket and wait until it is closed (an error on the way out is no news)."""
        self.open = False
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


async def _drive(
    port: int,
    payloads: Sequence[bytes],
    expected_status: int,
    concurrency: int,
    deadline: float,
) -> LoadResult:
    pending: Iterator[bytes] = iter(payloads)
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    sent = 0

    async def client() -> None:
        nonlocal sent
        connection: _Connection | None = None
        try:
            for payload in pending:
                if time.monotonic() > deadline:
                    errors["not sent: time limit"] += 1
                    continue
                sent += 1
                try:
                    if connection is not None and not connection.open:
                        # The server ended it (Connection: close) or it failed.
                        await connection.close()
                        connection = None
                    if connection is None:
                        connection = await _Connection.connect(port)
                    started = time.perf_counter()
                    exchange = connection.exchange(payload)
                    status = await asyncio.wait_for(exchange, REQUEST_TIMEOUT_S)
                    latencies.append(time.perf_counter() - started)
                    if status != expected_status:
                        errors[f"HTTP {status}"] += 1
                except (OSError, TimeoutError, httptools.HttpParserError) as error:
                    errors[type(error).__name__] += 1
                    if connection is not None:
                        connection.open = False  # half-read: never reused
        finally:
            # On every way out (the last request, an error, a cancellation).
            if connection is not None:
                await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return LoadResult(sent, seconds, tuple(latencies), dict(errors))


def _event_loop_runner() -> asyncio.Runner:
    # uvloop comes with uvicorn[standard] everywhere but on Windows.
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def run_load(
    port: int,
    requests: Sequence[Request],
    *,
    expected_status: int,
    concurrency: int,
    time_limit_s: float = 120.0,
) -> LoadResult:
    """Send every request once, `concurrency` at a time, and time each answer.

    A request still unsent after `time_limit_s` counts as an error, so a run
    always ends and a slow server cannot look error-free.
    """
    payloads = [request.encode(port) for request in requests]
    deadline = time.monotonic() + time_limit_s
    with _event_loop_runner() as runner:
        return runner.run(_drive(port, payloads, expected_status, concurrency, deadline))
