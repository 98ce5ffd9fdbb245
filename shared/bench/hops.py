"""The thread-pool hops experiment: the ceiling's constant, served in four ways.

From an `async def` (no hop), from a `def` (FastAPI runs it in its thread
pool), and from a `def` that takes a dependency with `yield`, async (no more
hops) or sync like the steps' `get_db` (FastAPI enters and leaves it in the
thread pool too). Each is a row of its own; the ceiling stays the `def` of
ceiling.py, in an app with that one route. Importing ceiling.py sets the
garbage collector as the ceiling and the steps have it.
"""

from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI

from shared.bench.ceiling import CONSTANT

app = FastAPI(title="Hops")


@app.get("/")
def constant() -> dict[str, Any]:
    return CONSTANT


@app.get("/async")
async def constant_async() -> dict[str, Any]:
    return CONSTANT


def sync_dependency() -> Iterator[dict[str, Any]]:
    yield CONSTANT


async def async_dependency() -> AsyncIterator[dict[str, Any]]:
    yield CONSTANT


@app.get("/sync-dependency")
def constant_with_sync_dependency(
    value: Annotated[dict[str, Any], Depends(sync_dependency)],
) -> dict[str, Any]:
    return value


@app.get("/async-dependency")
def constant_with_async_dependency(
    value: Annotated[dict[str, Any], Depends(async_dependency)],
) -> dict[str, Any]:
    return value
