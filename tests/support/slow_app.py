"""An app whose answers take as long as asked: `GET /wait/{ms}` (tests of the load generators)."""

import asyncio

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def ready() -> dict[str, str]:
    """What UvicornServer asks for until the server answers."""
    return {}


@app.get("/wait/{ms}")
async def wait(ms: int) -> dict[str, int]:
    await asyncio.sleep(ms / 1000)
    return {"waited_ms": ms}
