"""Step 6: passwords, login with a token, and who may change what.

Run it from the repository root, after bringing the database to the newest
migration:

    alembic -c steps/step06_auth/alembic.ini upgrade head
    uvicorn steps.step06_auth.main:app --reload

The first admin is made with `python -m steps.step06_auth.create_admin`.
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
        check_database_is_migrated()
        # Read the key that signs tokens now (making it, the first time), so
        # that a missing or weak key stops the start-up, not the first login.
        secret_key()
        yield
    finally:
        engine.dispose()  # close the pooled connections on shutdown


app = FastAPI(
    title="Passwords, tokens and permissions",
    summary="Step 6: passwords, login with a token, and who may change what.",
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
def welcome() -> dict[str, str | int]:
    return {"step": 6, "title": app.title, "docs": "/docs"}
