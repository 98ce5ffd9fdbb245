"""The ceiling: the cheapest answer FastAPI gives on this machine, the unit of every ratio.

A FastAPI app of its own with one `def` route, like the steps' endpoints (so
both pay for FastAPI's thread pool), that returns a constant JSON object of
about 190 bytes (about one user without posts), with no middleware. It is
served exactly as the steps are: by the same uvicorn, with the same flags,
through the same wrapper (served.py), and with the garbage collector set as
the steps' plumbing sets it (shared/plumbing/collector.py), so that both run
on the same Python. A step's row divides its server CPU per request by this
app's, measured in the same rounds, and prints both figures beside the ratio.
"""

from typing import Any

from fastapi import FastAPI

from shared.plumbing.collector import collect_garbage_less_often

# 189 bytes as FastAPI sends it (no spaces).
CONSTANT: dict[str, Any] = {
    "id": 1,
    "username": "ceiling",
    "email": "ceiling@example.com",
    "full_name": "The benchmark's ceiling",
    "role": "member",
    "detail": "A constant answer, about the size of one user without its posts.",
}

app = FastAPI(title="Ceiling")
collect_garbage_less_often()


@app.get("/")
def constant() -> dict[str, Any]:
    return CONSTANT
