"""Start a step with uvicorn in a child process, as a learner would.

Used by the tests (smoke, races, crashes) and by the benchmark. The server
listens on 127.0.0.1 only, on a free port, and is always stopped on exit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from types import TracebackType

from shared.catalog import ROOT

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def venv_command(name: str) -> str:
    """The console script installed next to the running Python (the .venv's)."""
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise FileNotFoundError(f"{name} is not installed next to {sys.executable}")
    return found


class UvicornServer:
    """`uvicorn <app_ref> --host 127.0.0.1 --port <free port>` in the repository root.

    Use as a context manager; `url` is the base URL once it answers.
    """

    def __init__(
        self,
        app_ref: str,
        *,
        env: dict[str, str] | None = None,
        extra_args: Sequence[str] = (),
        log_path: Path | None = None,
        port: int | None = None,
        command: Sequence[str] | None = None,
        base_env: Mapping[str, str] | None = None,
        cwd: Path = ROOT,
        ready_within: float = 30.0,
        cores: AbstractSet[int] | None = None,
    ) -> None:
        """`command` replaces the uvicorn command line (it must serve on `port`);
        `env` is added to `base_env` (by default, this process's environment);
        `with` waits `ready_within` seconds at most for its first answer;
        `cores` pins the server (and the workers it starts) to those CPU cores (Linux)."""
        self.app_ref = app_ref
        self.ready_within = ready_within
        self.port = port or free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.env = {**(os.environ if base_env is None else base_env), **(env or {})}
        self.args = (
            list(command)
            if command
            else [
                venv_command("uvicorn"),
                app_ref,
                "--host",
                HOST,
                "--port",
                str(self.port),
                *extra_args,
            ]
        )
        self.log_path = log_path
        self.cwd = cwd
        self.cores = cores
        self.process: subprocess.Popen[bytes] | None = None
        # Where `log()` starts reading (see `mark_log`).
        self._log_start = 0

    def start(self, timeout: float = 30.0) -> UvicornServer:
        log = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            self.args,
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group, so that stopping it also stops the
            # worker that `--reload` starts.
            start_new_session=True,
        )
        if self.log_path:
            log.close()
        if self.cores is not None:
            # Before it has started a thread or a worker: they inherit it.
            os.sched_setaffinity(self.process.pid, self.cores)
        self._wait_until_ready(timeout)
        return self

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{' '.join(self.args)} exited with {self.process.returncode}: {self.log()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"{self.app_ref} did not answer within {timeout} s: {self.log()}")

    def running(self) -> bool:
        """Whether the process is started and has not exited."""
        return self.process is not None and self.process.poll() is None

    def mark_log(self) -> None:
        """From now on `log()` shows only what the server writes after this call.

        A server that several tests share marks its log for each of them, so
        that each one reads what it caused; `log(whole=True)` still reads it all.
        """
        path = self.log_path
        self._log_start = path.stat().st_size if path is not None and path.exists() else 0

    def log(self, *, whole: bool = False) -> str:
        """What the server wrote (since `mark_log`, unless `whole`)."""
        if self.log_path and self.log_path.exists():
            with self.log_path.open("rb") as log:
                log.seek(0 if whole else self._log_start)
                return log.read().decode(errors="replace")
        return "(no log kept)"

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown, no cleanup, like a crash."""
        self._signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait()

    def stop(self, timeout: float = 10.0) -> None:
        self._signal(signal.SIGTERM)
        if self.process is None:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def _signal(self, signum: int) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def __enter__(self) -> UvicornServer:
        return self.start(self.ready_within)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
