"""Where a served step spends its CPU, by part of the request path.

A sampling profiler that runs inside the server (the benchmark's wrapper
starts it when BENCH_PROFILE is set). Every few milliseconds it reads each
thread's own CPU clock and charges the CPU that thread used since the last
sample to what the thread is running now, sorted into the parts a request
goes through (PARTS). Summed over a thousand requests this is what py-spy or
pyinstrument would show, but for every thread at once (FastAPI runs `def`
endpoints in a thread pool, and pyinstrument follows one thread) and by CPU
time rather than wall time (a thread waiting for SQLite's lock or for the GIL
costs nothing).

It reads Linux's per-thread CPU clocks; elsewhere the profile is skipped and
the benchmark says so.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from types import FrameType

# The parts, in the order a request meets them; "other" is what none claims.
PARTS = (
    "HTTP, routing, request validation (uvicorn, Starlette, FastAPI)",
    "thread-pool hops (anyio)",
    "session and connection checkout/return",
    "connections opened and closed",
    "SQL: compile, execute, commit (SQLAlchemy Core)",
    "SQLite itself (statement, fetch)",
    "ORM: rows into objects",
    "UTCDateTime decorator (per row)",
    "response validation from attributes (Pydantic)",
    "response serialization (Pydantic, to JSON)",
    "the step's own code",
    "other",
)

Frames = list[tuple[str, str]]  # (file name, function name), innermost first


def _stack(frame: FrameType | None) -> Frames:
    stack = []
    while frame is not None:
        code = frame.f_code
        stack.append((normal_path(code.co_filename), code.co_name))
        frame = frame.f_back
    return stack


def normal_path(file: str) -> str:
    """Forward slashes and a leading one, so that `"/fastapi/"` finds relative paths too."""
    return "/" + file.replace("\\", "/").lstrip("/")


def _any(stack: Frames, path: str, names: tuple[str, ...] = ()) -> bool:
    return any(path in file and (not names or name in names) for file, name in stack)


def classify(stack: Frames) -> str:
    """The part of the request path a stack (innermost frame first) belongs to."""
    # Whole-stack contexts first: what runs inside them belongs to them, even
    # when the innermost frame is SQLAlchemy's (an attribute read while
    # Pydantic validates, a PRAGMA sent while a connection is opened).
    if _any(stack, "sqlalchemy/pool/", ("__connect", "__close", "_close_connection")):
        return "connections opened and closed"
    if _any(stack, "fastapi/_compat", ("serialize_json", "serialize")):
        return "response serialization (Pydantic, to JSON)"
    if _any(stack, "fastapi/_compat", ("validate",)) and not _any(stack, "fastapi/dependencies/"):
        return "response validation from attributes (Pydantic)"
    if _any(stack, "/models.py", ("as_utc", "process_result_value", "process_bind_param")):
        return "UTCDateTime decorator (per row)"
    for file, name in stack:
        part = _innermost_part(file, name)
        if part:
            return part
    return "other"


def _innermost_part(file: str, name: str) -> str | None:
    if "sqlalchemy/sql/type_api.py" in file and name == "process":
        return "UTCDateTime decorator (per row)"
    if "sqlalchemy/engine/default.py" in file and name.startswith("do_execute"):
        return "SQLite itself (statement, fetch)"
    if "sqlalchemy/engine/default.py" in file and name in ("do_commit", "do_rollback"):
        return "SQLite itself (statement, fetch)"
    if "sqlalchemy/engine/cursor.py" in file and name.startswith(("fetch", "_fetch")):
        return "SQLite itself (statement, fetch)"
    if "sqlalchemy/pool/" in file:
        return "session and connection checkout/return"
    if "sqlalchemy/orm/" in file and file.endswith(("loading.py", "strategies.py")):
        return "ORM: rows into objects"
    if "sqlalchemy/orm/session.py" in file and name in ("__init__", "close", "_close_impl"):
        return "session and connection checkout/return"
    if "sqlalchemy/orm/" in file and name in ("_connection_for_bind", "connection"):
        return "session and connection checkout/return"
    if "sqlalchemy/" in file:
        return "SQL: compile, execute, commit (SQLAlchemy Core)"
    if "/steps/" in file:
        return "the step's own code"
    if any(part in file for part in ("/anyio/", "/concurrency.py", "/threading.py", "/queue.py")):
        return "thread-pool hops (anyio)"
    if any(part in file for part in ("/uvicorn/", "/starlette/", "/fastapi/", "/pydantic")):
        return "HTTP, routing, request validation (uvicorn, Starlette, FastAPI)"
    if any(part in file for part in ("/asyncio/", "/uvloop/", "/shared/", "/contextlib.py")):
        return "HTTP, routing, request validation (uvicorn, Starlette, FastAPI)"
    return None


def supported() -> bool:
    return sys.platform == "linux"


def _thread_cpu_clock(native_id: int) -> int:
    """Linux's CPU clock of one thread, by its kernel id.

    Not time.pthread_getcpuclockid(): given a thread that has just ended
    (AnyIO ends idle workers), it reads freed memory; a kernel id that is
    gone only makes clock_gettime fail.
    """
    return (~native_id << 3) | 6  # CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED


def _idle(stack: Frames) -> bool:
    """A worker thread waiting for its next job (AnyIO's queue)."""
    return bool(stack) and stack[0][0].endswith(("/threading.py", "/queue.py"))


class CpuProfiler:
    """Charges each thread's CPU time to the part of the request path it is in.

    A thread found waiting for work used its CPU before it went idle: that
    CPU is charged to where it was at the sample before. The GIL is handed
    over every 0.2 ms rather than 5, so that a sample lands where a thread
    is, not only where it lets go of the GIL. It still lands there more
    often than elsewhere: a thread that has just sent a query lets go of the
    GIL, and the CPU it used since the sample before (in SQLAlchemy) is
    charged to SQLite.
    """

    def __init__(self, interval_s: float = 0.001) -> None:
        self.interval_s = interval_s
        self.seconds: Counter[str] = Counter()
        self._last: dict[int, tuple[float, str]] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="bench-profiler", daemon=True)

    def start(self) -> CpuProfiler:
        sys.setswitchinterval(0.0002)
        self._thread.start()
        return self

    def take(self) -> dict[str, float]:
        """The CPU seconds per part since the last call, and start counting anew."""
        with self._lock:
            taken = {part: round(self.seconds[part], 6) for part in PARTS}
            self.seconds.clear()
        return taken

    def _run(self) -> None:
        me = threading.get_ident()
        while True:
            time.sleep(self.interval_s)
            self._sample(me)

    def _sample(self, me: int) -> None:
        seen = {}
        native_ids = {thread.ident: thread.native_id for thread in threading.enumerate()}
        for ident, frame in sys._current_frames().items():
            native_id = native_ids.get(ident)
            if ident == me or native_id is None:
                continue
            try:
                now = time.clock_gettime(_thread_cpu_clock(native_id))
            except OSError:  # the thread has just ended
                continue
            before, where_before = self._last.get(ident, (now, "other"))
            if now == before:  # no CPU since the last sample: nothing to charge
                seen[ident] = (now, where_before)
                continue
            stack = _stack(frame)
            where = where_before if _idle(stack) else classify(stack)
            seen[ident] = (now, where)
            with self._lock:
                self.seconds[where] += now - before
        self._last = seen
