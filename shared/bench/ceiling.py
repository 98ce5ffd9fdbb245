"""The ceiling: the cheapest endpoint FastAPI can serve on this machine.

Every result is also reported as a multiple of this app's server CPU per
request (and a fraction of its requests per second) under the same load,
which cancels out most of how fast the machine is. The endpoint is a `def`,
like the steps' endpoints, so that both pay for FastAPI's thread pool and the
difference is the step's own work.

The other paths measure what a thread-pool hop costs (the hops experiment):
the same constant from an `async def` (no hop), and from a `def` that takes a
dependency with `yield`, sync like the steps' `get_db` (two more hops: FastAPI
enters and leaves it in the thread pool) or async (no more hops).
"""

from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import Depends, FastAPI

app = FastAPI(title="Constant")


@app.get("/")
def constant() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/async")
async def constant_async() -> dict[str, str]:
    return {"status": "ok"}


def sync_dependency() -> Iterator[str]:
    yield "ok"


async def async_dependency() -> AsyncIterator[str]:
    yield "ok"


@app.get("/sync-dependency")
def constant_with_sync_dependency(
    value: Annotated[str, Depends(sync_dependency)],
) -> dict[str, str]:
    return {"status": value}


@app.get("/async-dependency")
def constant_with_async_dependency(
    value: Annotated[str, Depends(async_dependency)],
) -> dict[str, str]:
    return {"status": value}
