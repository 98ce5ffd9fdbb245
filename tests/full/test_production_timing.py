"""Step 8's rules that only time can show: a login window that ends, a Redis that never answers.

In-process like tier lesson (tests/lesson/test_production.py), but each waits
a second or more of real time: kept out of the seconds `make check` answers in.
"""

from __future__ import annotations

import time

import pytest

from tests.support import production
from tests.support.auth import PASSWORD, sign_up
from tests.support.production import StartWith, attempt

pytestmark = [
    pytest.mark.requires("production"),
    pytest.mark.usefixtures("signing_key", "anonymous"),
]

# The fixtures of tests/support/production.py.
start_with, silent_port = production.start_with, production.silent_port


@pytest.mark.taught("health-checks")
def test_ready_gives_up_on_a_silent_redis_after_a_second(
    start_with: StartWith, silent_port: int
) -> None:
    """GET /health/ready answers within about a second when Redis never answers: 503, timeout."""
    with start_with(REDIS_URL=f"redis://127.0.0.1:{silent_port}/0") as client:
        started = time.monotonic()
        response = client.get("/health/ready")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "redis": "timeout"}
    assert 0.9 < elapsed < 3, elapsed


@pytest.mark.taught("the-login-rate-limit")
def test_the_window_ends_and_the_attempts_count_again(start_with: StartWith) -> None:
    """When the window ends, a username refused with 429 may try again."""
    with start_with(LOGIN_RATE_LIMIT="1/second", LOGIN_IP_RATE_LIMIT="100/minute") as client:
        sign_up(client, "ada")
        assert attempt(client, "ada").status_code == 401
        refused = attempt(client, "ada", PASSWORD)
        assert refused.status_code == 429
        time.sleep(int(refused.headers["retry-after"]) + 0.1)
        assert attempt(client, "ada", PASSWORD).status_code == 200
