"""The compiled load generator: the same fixed list of requests, sent by wrk.

wrk (a C program, packaged by Debian and Homebrew) spends a few microseconds
of CPU per request where the Python driver (driver.py) spends hundreds: on a
machine of 2 cores, what the load generator spends is taken from the server
it measures. The server's CPU per request is counted by the server itself
and does not depend on the generator; its requests per second and latencies
do, and each table says which generator produced it.

wrk runs for a duration, not a count: a Lua script (written per load) hands
out the requests in order, each once, stops after the last answer, and prints every
latency it recorded (its histogram, to the microsecond) and the number of
answers with a status of 400 or more.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from tempfile import TemporaryDirectory

from shared.bench.driver import HOST, REQUEST_TIMEOUT_S, LoadResult, Request

RESULT_MARK = "BENCH-RESULT "
DONE_MARK = "BENCH-DONE"

SCRIPT = """
local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *now);
]]
local now = ffi.new("bench_timespec")
local function seconds()
  ffi.C.clock_gettime(1, now)  -- CLOCK_MONOTONIC
  return tonumber(now.tv_sec) + tonumber(now.tv_nsec) / 1e9
end

local requests = {%(requests)s}
local total = %(total)d
local connections = %(connections)d
-- Globals, so that done() can read them through thread:get().
sent, promised, asked, started, elapsed = 0, 0, 0, nil, nil

function setup(thread)
  threads = threads or {}
  table.insert(threads, thread)
end

function request()
  -- wrk asks for one request before the run, to check the script: not sent.
  if promised == 0 then return requests[1] end
  started = started or seconds()
  sent = sent + 1
  return requests[sent]
end

-- Asked when a connection opens and after each answer, before it sends
-- again. Once every request is promised to a connection, the others wait
-- until the run ends, so that no request is ever sent twice; once every
-- answer is in, the run ends. (No response() function: wrk then parses no
-- header and no body into Lua, which would cost it more CPU than the rest.)
function delay()
  asked = asked + 1
  if asked == total + connections then
    elapsed = seconds() - started
    -- wrk's main thread sleeps for the whole duration: the driver reads
    -- this line and interrupts it (SIGINT), which ends the run at once.
    io.write("%(done_mark)s\\n")
    io.flush()
    wrk.thread:stop()
  end
  if promised >= total then return 3600000 end
  promised = promised + 1
  return 0
end

function done(summary, latency, _requests)
  local seconds_total = 0
  for _, thread in ipairs(threads) do
    seconds_total = math.max(seconds_total, thread:get("elapsed") or summary.duration / 1e6)
  end
  local histogram = {}
  for i = 1, #latency do
    local value, count = latency(i)
    table.insert(histogram, string.format("[%%d,%%d]", value, count))
  end
  local e = summary.errors
  io.write(string.format(
    '%(mark)s{"requests":%%d,"seconds":%%f,"status":%%d,"connect":%%d,"read":%%d,' ..
    '"write":%%d,"timeout":%%d,"latency_us":[%%s]}\\n',
    summary.requests, seconds_total, e.status, e.connect, e.read, e.write,
    e.timeout, table.concat(histogram, ",")))
end
"""


def found() -> str | None:
    """The path of wrk, when it is installed."""
    return shutil.which("wrk")


def version() -> str:
    completed = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    # "wrk debian/4.1.0-3+b2 [epoll] Copyright ..." on its first line.
    words = (completed.stdout or completed.stderr).split()
    return " ".join(words[:2]) if words else "wrk"


def _lua_string(data: bytes) -> str:
    """A Lua string literal of these bytes (letters and digits as they are, the rest escaped)."""
    return '"' + "".join(chr(b) if chr(b).isalnum() else f"\\{b:03d}" for b in data) + '"'


def run_wrk(
    port: int,
    requests: Sequence[Request],
    *,
    expected_status: int,
    concurrency: int,
    time_limit_s: float = 120.0,
) -> LoadResult:
    """Send every request once, `concurrency` at a time, from one wrk thread.

    `expected_status` (200 or 201) is not checked to the code: wrk counts the
    answers with a status of 400 or more, which are errors here.
    """
    if not requests:
        return LoadResult(0, 0.0, (), {})
    # No more connections than requests: each sends its first at once.
    connections = min(concurrency, len(requests))
    script = SCRIPT % {
        "requests": ",".join(_lua_string(request.encode(port)) for request in requests),
        "total": len(requests),
        "connections": connections,
        "mark": RESULT_MARK,
        "done_mark": DONE_MARK,
    }
    with TemporaryDirectory(prefix="bench-wrk-") as folder:
        path = Path(folder) / "requests.lua"
        path.write_text(script)
        options = {
            "--threads": "1",
            "--connections": str(connections),
            "--duration": f"{max(1, round(time_limit_s))}s",
            "--timeout": f"{round(REQUEST_TIMEOUT_S)}s",
            "--script": str(path),
        }
        command = ["wrk", *(part for pair in options.items() for part in pair)]
        output = _run([*command, f"http://{HOST}:{port}/"], time_limit_s + REQUEST_TIMEOUT_S)
    return _parse(output, len(requests))


def _run(command: list[str], timeout_s: float) -> str:
    """Run wrk; interrupt it as soon as its thread says the last answer is in."""
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.strip() == DONE_MARK:
                threading.Thread(target=_interrupt, args=(process,), daemon=True).start()
        process.wait(timeout=timeout_s)
    if process.returncode != 0:
        raise RuntimeError(f"wrk exited with {process.returncode}: {''.join(lines)}")
    return "".join(lines)


def _interrupt(process: subprocess.Popen[str]) -> None:
    """SIGINT wrk until it ends, once it catches SIGINT.

    wrk's main thread installs its SIGINT handler after starting the load
    thread, prints a line, then sleeps for the whole duration; the handler
    only sets a flag, and the signal cuts the sleep short. A short load can
    end before the handler is installed (SIGINT would then kill wrk), or the
    signal can land between the handler and the sleep (which then runs its
    whole course): so wait for the handler, and send again until wrk ends.
    """
    while process.poll() is None:
        if _catches_sigint(process.pid):
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.2)


def _catches_sigint(pid: int) -> bool:
    """Whether process `pid` has a handler for SIGINT (Linux's /proc; elsewhere, assume so)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGINT - 1)))


def _parse(output: str, total: int) -> LoadResult:
    line = next(line for line in output.splitlines() if line.startswith(RESULT_MARK))
    result = json.loads(line.removeprefix(RESULT_MARK))
    latencies = tuple(value / 1e6 for value, count in result["latency_us"] for _ in range(count))
    errors = {
        kind: result[kind] for kind in ("connect", "read", "write", "timeout") if result[kind]
    }
    # wrk tells only how many answers had a status of 400 or more; the
    # expected statuses (200, 201) are below it.
    if result["status"]:
        errors["HTTP 400 or more"] = result["status"]
    answered = min(result["requests"], total)
    if answered < total:
        errors["not sent: time limit"] = total - answered
    return LoadResult(answered, result["seconds"], latencies[:answered], errors)
