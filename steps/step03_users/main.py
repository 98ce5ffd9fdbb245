"""Step 3: users next to tasks, in an app split into layers.

Run it from the repository root:

    uvicorn steps.step03_users.main:app --reload
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shared.plumbing import harden

from .database import Base, engine
from .routers import tasks, users  # they import models, so create_all sees every table


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    Base.metadata.create_all(bind=engine)  # creates missing tables, never alters
    yield
    engine.dispose()  # close the pooled connections on shutdown


app = FastAPI(
    title="Users and a layered app",
    summary="Step 3: users next to tasks, in an app split into layers.",
    lifespan=lifespan,
    docs_url=None,
    redoc_url=None,
)
harden(app)  # offline docs, a 1 MiB body limit, JSON 422s (plumbing, see shared/plumbing/)


app.include_router(tasks.router)
app.include_router(users.router)


@app.get("/")
def welcome() -> dict[str, str | int]:
    return {"step": 3, "title": app.title, "docs": "/docs"}
