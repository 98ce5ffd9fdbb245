"""Redis for the tests that need one, as PostgreSQL is: skipped with a reason when
it does not answer, except in CI, where it must.

`redis_server` is the server (REDIS_URL_FOR_TESTS, else redis://127.0.0.1:6379);
`redis_url` is a database number of this test process's own on it, emptied
before each test, so that tests in different processes never share counters:
not those of another pytest-xdist worker, nor those of another test run on the
same server (two clones, or CI beside a developer). Use the fixtures by
importing `redis_database` and `redis_url` into a test module.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

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


# A database is taken by the test process whose id is at this key. The claim
# lapses after an hour unless a test renews it, so a run that was killed
# frees its database on its own.
CLAIM = "tests:claimed-by"
CLAIM_SECONDS = 3600
THIS_PROCESS = f"{socket.gethostname()}:{os.getpid()}"


@pytest.fixture(scope="session")
def redis_database(redis_server: str) -> Iterator[str]:
    """The URL of a database no other test process uses, claimed for this one's session.

    A number per pytest-xdist worker ("gw0" takes 1, ...) is not enough: two runs
    beside each other both have a gw0, and one would empty the other's counters
    in the middle of a test. Taking a database is one `SET ... NX` in it.
    """
    for number in range(1, 1 + DATABASES):
        url = f"{redis_server}/{number}"
        with redis.Redis.from_url(url) as client:
            if client.set(CLAIM, THIS_PROCESS, nx=True, ex=CLAIM_SECONDS):
                break
    else:
        pytest.fail(
            f"Redis at {redis_server}: databases 1-{DATABASES} are all taken by other"
            f" test processes (each marks its own with the key {CLAIM!r})"
        )
    try:
        yield url
    finally:
        with redis.Redis.from_url(url) as client:
            if client.get(CLAIM) == THIS_PROCESS.encode():
                client.delete(CLAIM)


@pytest.fixture
def redis_url(redis_database: str) -> str:
    """This process's database, with nothing in it but its claim, which is renewed."""
    with redis.Redis.from_url(redis_database) as client, client.pipeline() as emptying:
        emptying.flushdb()
        emptying.set(CLAIM, THIS_PROCESS, ex=CLAIM_SECONDS)
        emptying.execute()  # one transaction: no other process sees the database unclaimed
    return redis_database
