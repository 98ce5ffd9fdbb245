"""Step 8's modules where HTTP cannot see: the JSON formatter, the Redis counters on a real Redis.

The login limit's behaviour is tested through HTTP (tests/lesson/test_production.py,
tests/full/test_production_processes.py); these pin down the parts in between:
what a JSON log line holds (an exception included), and that the counters in
Redis count, expire and clear as the ones in memory do.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys

import pytest
from redis.asyncio import Redis

from shared.catalog import Step
from tests.support import apps, redis
from tests.support.production import closed_port

# The fixtures of a Redis server and of a database of this test process's own on it.
redis_server, redis_database, redis_url = redis.redis_server, redis.redis_database, redis.redis_url

pytestmark = [
    pytest.mark.requires("production"),
    pytest.mark.internals,
    pytest.mark.backends("sqlite"),
    pytest.mark.taught("request-ids-and-logs"),
]


def test_a_json_log_line_is_one_object_with_the_request_and_the_exception(
    step: Step, backend: str, app
) -> None:
    """A record with access fields and an exception: one line of JSON holding both."""
    logs = apps.module_of(step, "logging")
    token = logs.request_id.set("req-7")
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "access", logging.ERROR, __file__, 1, "GET %s", ("/x",), sys.exc_info()
        )
    record.method, record.path, record.status, record.duration_ms = "GET", "/x", 500, 1.5
    logs.RequestIdFilter().filter(record)
    logs.request_id.reset(token)
    line = logs.JsonFormatter().format(record)
    assert "\n" not in line
    fields = json.loads(line)
    assert fields["message"] == "GET /x"
    assert fields["request_id"] == "req-7"
    assert (fields["method"], fields["path"], fields["status"]) == ("GET", "/x", 500)
    assert fields["exception"].startswith("Traceback")
    assert "ValueError: boom" in fields["exception"]

    plain = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "Started", (), None)
    fields = json.loads(logs.JsonFormatter().format(plain))
    assert fields["request_id"] == "-"  # written outside any request
    assert "exception" not in fields
    assert "status" not in fields


class AnsweringPipeline:
    """Redis's answers to the counter's three commands, for a machine without Redis.

    The real server is test_redis_counters_count_a_window_and_clear_it's (CI
    always has one); this pins down what the counter makes of the answers.
    """

    def __init__(self, answers: list) -> None:
        self.answers = answers
        self.sent: list[tuple] = []

    def pipeline(self, transaction: bool) -> AnsweringPipeline:
        assert transaction  # the three commands run as one, in order
        return self

    async def __aenter__(self) -> AnsweringPipeline:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        pass

    def __getattr__(self, command: str):
        def send(*args, **kwargs) -> AnsweringPipeline:
            self.sent.append((command, args, kwargs))
            return self

        return send

    async def execute(self) -> list:
        return self.answers


@pytest.mark.parametrize(("ttl", "retry_after"), [(42, 42), (0, 1), (-1, 1)])
def test_redis_counters_read_the_count_and_the_time_left_from_redis(
    step: Step, backend: str, app, ttl: int, retry_after: int
) -> None:
    """A window about to end (TTL 0, or -1 just after Redis deleted it) still says wait 1 s."""
    ratelimit = apps.module_of(step, "ratelimit")
    redis = AnsweringPipeline([5, True, ttl])
    hit = asyncio.run(ratelimit.RedisCounters(redis).hit("login:ada", 60))
    assert (hit.count, hit.retry_after) == (5, retry_after)
    assert redis.sent == [
        ("incr", ("login:ada",), {}),
        ("expire", ("login:ada", 60), {"nx": True}),
        ("ttl", ("login:ada",), {}),
    ]


@pytest.mark.taught("the-login-rate-limit")
def test_redis_counters_count_a_window_and_clear_it(
    step: Step, backend: str, app, redis_url: str
) -> None:
    ratelimit = apps.module_of(step, "ratelimit")

    async def scenario() -> list:
        client = Redis.from_url(redis_url)
        counters = ratelimit.RedisCounters(client)
        try:
            hits = [await counters.hit("login:test", 60) for _ in range(3)]
            ttl = await client.ttl("login:test")
            await counters.clear("login:test")
            after = await counters.hit("login:test", 60)
            return [hits, ttl, after]
        finally:
            await client.aclose()

    hits, ttl, after = asyncio.run(scenario())
    assert [hit.count for hit in hits] == [1, 2, 3]
    assert all(1 <= hit.retry_after <= 60 for hit in hits)
    assert 0 < ttl <= 60  # Redis ends the window itself
    assert after.count == 1


@pytest.mark.taught("the-login-rate-limit")
def test_a_redis_that_fails_after_a_login_does_not_fail_the_login(
    step: Step, backend: str, app
) -> None:
    """Forgiving the failures of a user who just logged in is best effort: the token is theirs."""
    ratelimit = apps.module_of(step, "ratelimit")
    settings = apps.module_of(step, "settings")

    async def scenario() -> None:
        client = Redis.from_url(f"redis://127.0.0.1:{closed_port()}/0")
        counters = ratelimit.RedisCounters(client)
        limiter = ratelimit.LoginLimiter(counters, settings.Rate(5, 60), settings.Rate(60, 60))
        try:
            with pytest.raises(ratelimit.CountersUnavailable):
                await counters.clear("login:test")
            await limiter.succeeded("ada")  # no exception
        finally:
            await client.aclose()

    asyncio.run(scenario())
