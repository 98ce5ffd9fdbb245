"""Step 8: step 7's API, ready to run as several workers behind a load balancer.

Run it from the repository root, after bringing the database to the newest
migration, through the check of its settings (settings.py says why):

    alembic -c steps/step08_production/alembic.ini upgrade head
    python -m steps.step08_production.settings &&
        uvicorn steps.step08_production.main:app --workers 2 --timeout-graceful-shutdown 20

Its settings come from the environment (settings.py); compose.yaml runs it
with PostgreSQL and Redis. The first admin is made with
`python -m steps.step08_production.create_admin`.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from redis.asyncio import Redis

from shared.plumbing import harden

from . import health
from .database import check_database_is_migrated, engine
from .logging import RequestLogging, configure_logging
from .ratelimit import LoginLimiter, MemoryCounters, RedisCounters
from .routers import auth, posts, tasks, users
from .security import hide_passwords_in_validation_errors, secret_key
from .settings import settings

# Before uvicorn writes its first line about this worker, so that every line has one format.
configure_logging(settings.log_format, settings.log_level)


# --8<-- [start:lifespan]
@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict]:
    # Redis holds what the workers share; without it, each process counts alone.
    redis = (
        Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=2)
        if settings.redis_url
        else None
    )
    counters = RedisCounters(redis) if redis else MemoryCounters()
    limiter = LoginLimiter(counters, settings.login_rate_limit, settings.login_ip_rate_limit)
    try:
        # No create_all: the migrations own the schema. Stop at start-up,
        # naming the command to run, rather than answer "no such table".
        await check_database_is_migrated()
        # Read the key that signs tokens now (making it, the first time), so
        # that a missing or weak key stops the start-up, not the first login.
        secret_key()
        # What the requests find in request.state.
        yield {"redis": redis, "login_limiter": limiter}
    finally:
        # On shutdown (SIGTERM included, once the requests in flight are
        # answered): close the pooled connections.
        await engine.dispose()
        if redis is not None:
            await redis.aclose()


# --8<-- [end:lifespan]

app = FastAPI(
    title="Ready for production",
    summary="Step 8: step 7's API, ready to run as several workers behind a load balancer.",
    lifespan=lifespan,
    docs_url=None,
    redoc_url=None,
)
harden(app)  # offline docs, a 1 MiB body limit, JSON 422s (plumbing, see shared/plumbing/)
hide_passwords_in_validation_errors(app)  # a 422 repeats its input, but never a password

# --8<-- [start:middleware]
# Browsers let only these origins' pages call the API. No cookies are used
# (the token travels in the Authorization header), so no credentials either.
app.add_middleware(
    CORSMiddleware,
    allow_origins=settings.cors_origins,
    allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
    expose_headers=["X-Request-ID", "Retry-After"],
)
# Added last, so it is the outermost: every answer gets its id and its access line.
app.add_middleware(RequestLogging)
# --8<-- [end:middleware]


app.include_router(tasks.router)
app.include_router(auth.router)
app.include_router(users.router)
app.include_router(posts.router)
app.include_router(health.router)


@app.get("/")
async def welcome() -> dict[str, str | int]:
    return {"step": 8, "title": app.title, "docs": "/docs"}
