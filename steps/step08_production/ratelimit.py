"""The login rate limit: too many attempts get a 429 before any password is hashed.

Two limits, both settings: failed logins per username (LOGIN_RATE_LIMIT, a
guesser trying one account) and all logins per client address
(LOGIN_IP_RATE_LIMIT, a guesser trying many). Each is a fixed window: the
first attempt starts it, and it ends `seconds` later.

With REDIS_URL, the counters live in Redis, so every worker process (and
every container) counts the same attempts. Without it, each process counts
its own: fine on a laptop, but N workers let N times the attempts through.
"""

import contextlib
import hashlib
import time
from typing import Annotated, NamedTuple, Protocol

from fastapi import Depends, HTTPException, Request, status
from redis.asyncio import Redis
from redis.exceptions import RedisError

from .schemas import Message
from .settings import Rate


class Hit(NamedTuple):
    """The attempts counted in the key's window so far, this one included, and when it ends."""

    count: int
    retry_after: int


class Counters(Protocol):
    async def hit(self, key: str, seconds: int) -> Hit: ...
    async def clear(self, key: str) -> None: ...


class CountersUnavailable(Exception):
    """The counters cannot be read (Redis does not answer)."""


# --8<-- [start:redis]
class RedisCounters:
    """Counters every worker shares: one Redis key per window, which Redis deletes at its end."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def hit(self, key: str, seconds: int) -> Hit:
        try:
            # One round trip, run in order: count this attempt; start the
            # window if this is its first (NX: a later attempt never extends
            # it); ask how long it has left.
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(key).expire(key, seconds, nx=True).ttl(key)
                count, _, ttl = await pipe.execute()
        except RedisError as error:
            raise CountersUnavailable from error
        return Hit(count, max(ttl, 1))

    async def clear(self, key: str) -> None:
        try:
            await self.redis.delete(key)
        except RedisError as error:
            raise CountersUnavailable from error


# --8<-- [end:redis]


# --8<-- [start:memory]
class MemoryCounters:
    """The same counters in this process's memory: for one process, or a laptop without Redis."""

    def __init__(self) -> None:
        self.windows: dict[str, tuple[int, float]] = {}  # key: (count, when the window ends)

    async def hit(self, key: str, seconds: int) -> Hit:
        now = time.monotonic()
        count, ends = self.windows.get(key, (0, 0.0))
        if ends <= now:
            self.forget_ended_windows(now)
            count, ends = 0, now + seconds
        self.windows[key] = (count + 1, ends)
        return Hit(count + 1, max(round(ends - now), 1))

    async def clear(self, key: str) -> None:
        self.windows.pop(key, None)

    def forget_ended_windows(self, now: float) -> None:
        # Redis deletes a key when its window ends; here, each new window
        # sweeps away the ended ones, so that memory stays bounded.
        self.windows = {key: window for key, window in self.windows.items() if window[1] > now}


# --8<-- [end:memory]


# --8<-- [start:limiter]
TOO_MANY_ATTEMPTS = {
    status.HTTP_429_TOO_MANY_REQUESTS: {
        "model": Message,
        "description": "Too many login attempts: try again after Retry-After seconds",
        "headers": {"Retry-After": {"description": "Seconds", "schema": {"type": "integer"}}},
    },
    status.HTTP_503_SERVICE_UNAVAILABLE: {
        "model": Message,
        "description": "The login counters cannot be read: try again later",
    },
}


def key_for(kind: str, value: str) -> str:
    # Hashed: a key of bounded length, whatever the client sends, and no
    # username in clear in Redis.
    return f"login:{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


class LoginLimiter:
    def __init__(self, counters: Counters, per_username: Rate, per_address: Rate) -> None:
        self.counters = counters
        self.per_username = per_username
        self.per_address = per_address

    async def attempt(self, username: str, address: str) -> None:
        """Count a login attempt; raise a 429 if it is one too many, before any hash.

        The attempt counts as failed until `succeeded` says otherwise: counting
        first means two workers racing cannot both let the last attempt in.
        """
        try:
            for key, rate in (
                (key_for("address", address), self.per_address),
                (key_for("username", username), self.per_username),
            ):
                hit = await self.counters.hit(key, rate.seconds)
                if hit.count > rate.count:
                    raise too_many_attempts(hit.retry_after)
        except CountersUnavailable as error:
            # Closed, not open: without its counters, the limit would be gone.
            raise HTTPException(
                status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                detail="Logging in is unavailable for a moment: try again later",
            ) from error

    async def succeeded(self, username: str) -> None:
        """The right password: this username's failed attempts are forgiven."""
        # Should Redis fail now, the window ends anyway; the user has their token.
        with contextlib.suppress(CountersUnavailable):
            await self.counters.clear(key_for("username", username))


def too_many_attempts(retry_after: int) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        detail="Too many login attempts: try again later",
        headers={"Retry-After": str(retry_after)},
    )


async def get_login_limiter(request: Request) -> LoginLimiter:
    """The limiter that main.py's lifespan made, from the lifespan's state."""
    return request.state.login_limiter


LoginLimiterDep = Annotated[LoginLimiter, Depends(get_login_limiter)]
# --8<-- [end:limiter]
