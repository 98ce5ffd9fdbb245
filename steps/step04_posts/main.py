"""Step 4: users who own posts, a one-to-many relationship.

Run it from the repository root:

    uvicorn steps.step04_posts.main:app --reload
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shared.plumbing import harden

from .database import Base, engine
from .routers import posts, tasks, users  # they import models, so create_all sees every table


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    Base.metadata.create_all(bind=engine)  # creates missing tables, never alters
    yield
    engine.dispose()  # close the pooled connections on shutdown


app = FastAPI(
    title="Users who own posts",
    summary="Step 4: users who own posts, a one-to-many relationship.",
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
    return {"step": 4, "title": app.title, "docs": "/docs"}
