"""Redis for the tests that need one, as PostgreSQL is: skipped with a reason when
it does not answer, except in CI, where it must.

`redis_server` is the server (REDIS_URL_FOR_TESTS, else redis://127.0.0.1:6379);
`redis_url` is a database number of this pytest worker's own on it, emptied
before each test, so that tests on different workers never share counters.
Use them by importing both into a test module.
"""

from __future__ import annotations

import os

import pytest
import redis

DEFAULT_URL = "redis://127.0.0.1:6379"
# Database 0 is left to whoever else uses the server; 16 is Redis's default count.
DATABASES = 15


@pytest.fixture(scope="session")
def redis_server() -> str:
    """The base URL of a Redis server that answers (no database number)."""
    url = os.environ.get("REDIS_URL_FOR_TESTS", DEFAULT_URL).rstrip("/")
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=2) as client:
            client.ping()
    except redis.RedisError as error:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Redis tests: no Redis answers at {url} ({error})")
        pytest.skip(f"Redis: none answers at {url}; start one, or set REDIS_URL_FOR_TESTS")
    return url


@pytest.fixture
def redis_url(redis_server: str, worker_id: str) -> str:
    """A database of this worker's own on the server, empty at the start of the test."""
    number = 1 + (int(worker_id.removeprefix("gw")) if worker_id != "master" else 0) % DATABASES
    url = f"{redis_server}/{number}"
    with redis.Redis.from_url(url) as client:
        client.flushdb()
    return url
