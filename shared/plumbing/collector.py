"""Python's garbage collector, set for a server: the youngest objects collected less often.

CPython frees an object as soon as its last reference goes; its cyclic
garbage collector is for the rest, objects that refer to each other. It runs
whenever the objects allocated since its last run, minus those freed, pass a
threshold: 700 by default. A request in flight holds thousands of objects
(rows, models, the answer), so a server with a few requests in flight passes
700 every other request. Each run finds those objects alive and moves them to
an older generation, whose collections then come often too, and every few
hundred requests one walks every object of the process: the hundred thousand
FastAPI, Pydantic and SQLAlchemy made at import, 30 ms each time.

At 7,000 the objects of a request are freed by reference counting before a
run comes. Measured on `GET /posts?limit=100` (100 posts) at 16 connections:
2 collections in 3,392 requests instead of 1,566 in 2,814, and 17 % less
server CPU per request. Cycles still get collected, only a few thousand
allocations later. The thresholds of the two older generations are left as
they are.

`harden(app)` calls it. It sets the whole process, so an app in a process
of its own (uvicorn, each of its workers) is the place for it, not a library.
"""

import gc

YOUNG_GENERATION_THRESHOLD = 7_000


def collect_garbage_less_often() -> None:
    """Collect the youngest generation every 7,000 net allocations, or less often if the
    process already does (a test runner may); the older generations' thresholds unchanged."""
    young, middle, oldest = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_GENERATION_THRESHOLD), middle, oldest)
