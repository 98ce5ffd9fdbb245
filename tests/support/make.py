"""Run `make` as a learner types it in a shell, not as a child of another make.

Under `make test STEP=2`, make hands `STEP=2` (and its other command-line
variables) to every command it runs, through MAKEFLAGS and the environment:
a `make run` started by a test would serve step 2 instead of what a learner's
`make run` serves. So these commands run without make's own variables and
without any variable the Makefile reads.
"""

from __future__ import annotations

import os
import re
import subprocess

from shared.catalog import ROOT

MAKEFILE = (ROOT / "Makefile").read_text()
# Variables the Makefile sets or reads: STEP, PYTEST_ARGS, PORT, ...
MAKEFILE_VARIABLES = frozenset(
    re.findall(r"^([A-Z_]+)\s*[?:+]?=", MAKEFILE, flags=re.MULTILINE)
    + re.findall(r"\$\(([A-Z_]+)\)", MAKEFILE)
)


def environment(**extra: str) -> dict[str, str]:
    """This process's environment, less make's and the Makefile's variables, plus `extra`."""
    return {
        **{
            name: value
            for name, value in os.environ.items()
            if not name.startswith("MAKE") and name != "MFLAGS" and name not in MAKEFILE_VARIABLES
        },
        **extra,
    }


def command(*args: str) -> list[str]:
    return ["make", "--no-print-directory", *args]


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args),
        cwd=ROOT,
        env=environment(**(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
