"""The set-up a newcomer meets: a new venv made by each supported Python, with the pip it brings.

Each test is a whole install (about half a minute), and checks the machine's
set-up rather than the code, so `make test` leaves these out and .ci/run runs
them: `.venv/bin/python -m pytest -m fresh_install`. They caught what broke the
first install: the pip that Python 3.11 puts in a new venv (23.x) resolving
`coverage[toml]` to a release newer than the lock's, which hash mode refused.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import make

pytestmark = pytest.mark.fresh_install

SUPPORTED = ("3.11", "3.12", "3.13")


def runs(python: str) -> bool:
    return subprocess.run([python, "-c", "pass"], capture_output=True).returncode == 0


def find_python(version: str) -> str | None:
    """`python3.X` on the PATH, or one that pyenv installed but did not put on it."""
    candidates = [shutil.which(f"python{version}")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
        candidates += sorted(
            str(path) for path in Path(root).glob(f"versions/{version}.*/bin/python{version}")
        )
    return next((c for c in candidates if c and runs(c)), None)


@pytest.mark.parametrize("version", SUPPORTED)
def test_make_setup_installs_the_lock_with_the_pip_a_new_venv_brings(
    version: str, tmp_path: Path
) -> None:
    python = find_python(version)
    if python is None:
        pytest.skip(f"Python {version} is not installed here")
    venv = tmp_path / "venv"
    result = make.run("setup", f"PYTHON={python}", f"VENV={venv}", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No broken requirements found" in result.stdout
    # The venv's pip is the one this Python bundles: nothing upgraded it.
    bundled = subprocess.run(
        [python, "-c", "import ensurepip; print(ensurepip.version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    pip = subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert pip.startswith(f"pip {bundled} "), pip
    # What the steps and the tests import is there.
    imports = "import fastapi, sqlalchemy, alembic, pydantic, uvicorn, psycopg, pytest, mkdocs"
    subprocess.run([venv / "bin" / "python", "-c", imports], check=True, env=os.environ.copy())
