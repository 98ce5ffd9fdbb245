"""Step 5: Alembic migrations own the schema; users gain a role.

Run it from the repository root, after bringing the database to the newest
migration:

    alembic -c steps/step05_alembic/alembic.ini upgrade head
    uvicorn steps.step05_alembic.main:app --reload
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shared.plumbing import harden

from .database import check_database_is_migrated, engine
from .routers import posts, tasks, users


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    try:
        # No create_all: the migrations own the schema. Stop at start-up,
        # naming the command to run, rather than answer "no such table".
        check_database_is_migrated()
        yield
    finally:
        engine.dispose()  # close the pooled connections on shutdown


app = FastAPI(
    title="Migrations with Alembic",
    summary="Step 5: Alembic migrations own the schema; users gain a role.",
    lifespan=lifespan,
    docs_url=None,
    redoc_url=None,
)
harden(app)  # offline docs, a 1 MiB body limit, JSON 422s (plumbing, see shared/plumbing/)


app.include_router(tasks.router)
app.include_router(users.router)
app.include_router(posts.router)


@app.get("/")
def welcome() -> dict[str, str | int]:
    return {"step": 5, "title": app.title, "docs": "/docs"}
