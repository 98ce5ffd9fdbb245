"""Keep coverage's greenlet tracking from stalling a test run.

Coverage follows SQLAlchemy's greenlets (pyproject.toml, `concurrency`), so
that step 7's lines count as run: its tracer asks `greenlet.getcurrent()` in
every thread it traces, which gives every thread a main greenlet. The suite
starts thousands of short-lived threads (a portal per TestClient, FastAPI's
thread pool). When greenlet frees the main greenlet of a thread that has
ended, from a pending call of the main thread, the worker can spin there for
good: `make test` stalled at 84 % for 75 minutes in CI with a worker at
~92 % CPU (py-spy: `ThreadState_DestroyNoGIL::PendingCallback_DestroyQueue`
-> `green_dealloc` -> a `WeakKeyDictionary` callback, again and again), in
7 of 11 runs of one step's user tests on a loaded machine, none without
coverage's greenlet tracking.

So each thread's main greenlet is kept for the rest of the run: the thread's
end no longer frees it (3 of 3 runs finished, ~8 MB more for that test file).
greenlet's optional clean-up of ended threads (`gc.get_referrers()` over the
whole process, once per thread) is turned off: it can only find greenlets
kept on purpose, and cost 30 % more CPU.
"""

from __future__ import annotations

import sys
import threading
from types import FrameType
from typing import Any

import greenlet

_MAIN_GREENLETS: list[greenlet.greenlet] = []


def _keep_this_threads_main_greenlet(_frame: FrameType, _event: str, _arg: Any) -> None:
    # A profile function, run at the first call in each new thread, once.
    _MAIN_GREENLETS.append(greenlet.getcurrent())
    sys.setprofile(None)


def keep_main_greenlets() -> None:
    """From now on, every new thread's main greenlet lives until the process ends."""
    greenlet.enable_optional_cleanup(False)
    # setprofile, not settrace: coverage's tracer is the trace function.
    threading.setprofile(_keep_this_threads_main_greenlet)
