"""Step 3: users next to tasks, in an app split into layers.

Run it from the repository root:

    uvicorn steps.step03_users.main:app --reload
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shared.body_limit import BodySizeLimit
from shared.errors import keep_validation_errors_json
from shared.offline_docs import serve_docs_offline

from .database import Base, engine
from .routers import tasks, users  # they import models, so create_all sees every table


# --8<-- [start:lifespan]
@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    Base.metadata.create_all(bind=engine)  # creates missing tables, never alters
    yield
    engine.dispose()  # close the pooled connections on shutdown


# --8<-- [end:lifespan]

app = FastAPI(
    title="Users and a layered app",
    summary="Step 3: users next to tasks, in an app split into layers.",
    lifespan=lifespan,
    docs_url=None,
    redoc_url=None,
)
serve_docs_offline(app)  # Swagger UI and ReDoc without a CDN (plumbing, see shared/)
app.add_middleware(BodySizeLimit)  # 413 for bodies over 1 MiB (plumbing, see shared/)
keep_validation_errors_json(app)  # a 422, not a 500, for NaN or "\ud800" (plumbing, see shared/)


# --8<-- [start:routers]
app.include_router(tasks.router)
app.include_router(users.router)
# --8<-- [end:routers]


@app.get("/")
def welcome() -> dict[str, str | int]:
    return {"step": 3, "title": app.title, "docs": "/docs"}
