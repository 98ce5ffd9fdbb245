"""Health checks, for a load balancer or an orchestrator, not for users.

- GET /health/live: the process serves requests. A failing one means
  "restart me"; it checks nothing else, so that a database outage does not
  restart every worker at once.
- GET /health/ready: the process can do its work now: the database answers,
  and Redis too when the app uses it. A failing one means "send requests to
  another worker until I am back".

Neither needs a token, and neither reads any user's data.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel
from sqlalchemy import text

from .database import engine

router = APIRouter(prefix="/health", tags=["health"])
logger = logging.getLogger(__name__)

# A dependency that takes longer than this is as good as down for a request.
TIMEOUT_SECONDS = 1.0


class Live(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    status: Literal["ok", "unavailable"]
    # Each dependency checked, and how it answered.
    checks: dict[str, Literal["ok", "timeout", "error"]]


@router.get("/live")
async def live() -> Live:
    return Live()


# --8<-- [start:ready]
async def ping_database() -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def check(name: str, ping: Callable[[], Awaitable[object]]) -> str:
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            await ping()
    except TimeoutError:
        logger.warning("Readiness: %s did not answer within %s s", name, TIMEOUT_SECONDS)
        return "timeout"
    except Exception as error:  # whatever the driver raises, the answer is "not ready"
        logger.warning("Readiness: %s failed: %s", name, type(error).__name__)
        return "error"
    return "ok"


@router.get(
    "/ready",
    responses={status.HTTP_503_SERVICE_UNAVAILABLE: {"model": Ready, "description": "Not ready"}},
)
async def ready(request: Request, response: Response) -> Ready:
    pings = {"database": ping_database}
    redis = request.state.redis
    if redis is not None:
        pings["redis"] = redis.ping
    # At the same time: the answer takes at most TIMEOUT_SECONDS, not one per check.
    results = await asyncio.gather(*(check(name, ping) for name, ping in pings.items()))
    checks = dict(zip(pings, results, strict=True))
    if any(result != "ok" for result in results):
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Ready(status="unavailable", checks=checks)
    return Ready(status="ok", checks=checks)


# --8<-- [end:ready]
