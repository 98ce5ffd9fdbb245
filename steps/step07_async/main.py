"""Step 7: step 6's API, served by async endpoints over SQLAlchemy's asyncio.

Run it from the repository root, after bringing the database to the newest
migration:

    alembic -c steps/step07_async/alembic.ini upgrade head
    uvicorn steps.step07_async.main:app --reload

The first admin is made with `python -m steps.step07_async.create_admin`.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shared.plumbing import harden

from .database import check_database_is_migrated, engine
from .routers import auth, posts, tasks, users
from .security import hide_passwords_in_validation_errors, secret_key


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    try:
        # No create_all: the migrations own the schema. Stop at start-up,
        # naming the command to run, rather than answer "no such table".
        await check_database_is_migrated()
        # Read the key that signs tokens now (making it, the first time), so
        # that a missing or weak key stops the start-up, not the first login.
        secret_key()
        yield
    finally:
        await engine.dispose()  # close the pooled connections on shutdown


app = FastAPI(
    title="Async SQLAlchemy",
    summary="Step 7: step 6's API, served by async endpoints over SQLAlchemy's asyncio.",
    lifespan=lifespan,
    docs_url=None,
    redoc_url=None,
)
harden(app)  # offline docs, a 1 MiB body limit, JSON 422s (plumbing, see shared/plumbing/)
hide_passwords_in_validation_errors(app)  # a 422 repeats its input, but never a password


app.include_router(tasks.router)
app.include_router(auth.router)
app.include_router(users.router)
app.include_router(posts.router)


@app.get("/")
async def welcome() -> dict[str, str | int]:
    return {"step": 7, "title": app.title, "docs": "/docs"}
