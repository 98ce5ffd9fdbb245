"""`make export STEP=N DEST=path`: every step leaves the repository as a project of its own.

The fast tests (part of `make test`) check what an export writes. The tests
marked `export` (run by CI: `pytest -m export`) do what a learner does with
each exported step: a venv made by the interpreter's own pip, the README's
set-up (its requirements.lock, hash-checked), the README's run command, one
record created and read over HTTP, and the project's own `pytest`, which must
pass. Each step's check is one test
(one venv), up to a few minutes long: CI runs them with a longer watchdog than
the suite's 7 minutes (pyproject.toml), as

    pytest -p no:cacheprovider -n 2 -o faulthandler_timeout=1200 -m export \
        tests/tutorial/test_export.py
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from shared import catalog, export
from shared.catalog import ROOT, STEPS
from shared.server import HOST, UvicornServer, free_port
from tests.support import documented, make

# Imports every module named on the command line, from the project's folder
# only, and prints the files of those it loaded from this repository.
IMPORT_ALL = """
import importlib, json, pathlib, sys
project, repository = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
sys.path.insert(0, str(project))
for name in sys.argv[3:]:
    importlib.import_module(name)
files = [pathlib.Path(m.__file__).resolve() for m in list(sys.modules.values())
         if getattr(m, "__file__", None)]
print(json.dumps([str(f) for f in files
                  if f.is_relative_to(repository) and not f.is_relative_to(repository / ".venv")]))
"""


def modules_of(project: Path) -> list[str]:
    """Every module of the project: `app.main`, `tests.conftest`, ... (not Alembic's env.py)."""
    return sorted(
        ".".join(path.relative_to(project).with_suffix("").parts).removesuffix(".__init__")
        for path in project.rglob("*.py")
        if "migrations" not in path.parts
    )


def test_a_folder_with_anything_in_it_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert export.main([str(catalog.latest().number), str(tmp_path)]) == 2
    assert "is not an empty folder" in capsys.readouterr().err
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]


def test_an_export_that_fails_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args) -> None:
        raise export.ExportError("a rewrite matched nothing")

    monkeypatch.setattr(export, "copy_tests", broken)
    with pytest.raises(export.ExportError):
        export.export(catalog.latest(), tmp_path / "my-api")
    assert not (tmp_path / "my-api").exists()


def test_an_exported_project_imports_nothing_of_this_repository(tmp_path: Path) -> None:
    """Its app and its tests import with the repository off sys.path, and load none of it."""
    step = catalog.latest()
    project = tmp_path / "my-api"
    export.export(step, project)
    for path in project.rglob("*.py"):
        imported = set(export.imported_modules(path))
        assert not {m for m in imported if m.split(".")[0] in ("shared", "steps")}, path

    result = subprocess.run(
        [sys.executable, "-I", "-c", IMPORT_ALL, str(project), str(ROOT), *modules_of(project)],
        cwd=project,
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
    assert "app.main" in modules_of(project)
    assert "tests.conftest" in modules_of(project)


def documented_exports() -> list[str]:
    return [c for c in documented.make_commands() if documented.target(c) == "export"]


def test_the_docs_show_make_export() -> None:
    assert documented_exports(), "no page tells learners how to export a step"


@pytest.mark.parametrize("command", documented_exports())
def test_documented_make_export_writes_the_project(command: str, tmp_path: Path) -> None:
    """As the docs give it, with DEST moved into a temporary folder."""
    args = [word for word in shlex.split(command)[1:] if not word.startswith("DEST=")]
    project = tmp_path / "my-api"
    result = make.run(*args, f"DEST={project}")
    assert result.returncode == 0, result.stderr
    assert "is now a project of its own" in result.stdout
    for name in ("README.md", "pyproject.toml", ".gitignore", "app/main.py", "tests/conftest.py"):
        assert (project / name).is_file(), name


# --- installed, served and tested, as a learner does (CI) ----------------------------


def clean_environment() -> dict[str, str]:
    """This shell's environment without what this suite, its venv or CI set for it."""
    dropped = ("CI", "DATABASE_URL", "TEST_DATABASE_URL", "SECRET_KEY", "PYTHONPATH", "VIRTUAL_ENV")
    return {
        name: value
        for name, value in os.environ.items()
        if name not in dropped and not name.startswith(("PYTEST_", "COV_", "COVERAGE_"))
    }


def run_in(project: Path, *command: str, timeout: float) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command,
        cwd=project,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout[-5000:]}{result.stderr}"
    return result


def request(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    sent = urllib.request.Request(
        url, data=data, method=method, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(sent, timeout=30) as response:
        return response.status, json.load(response)


def longest_first() -> list[int]:
    """The step numbers, newest (longest to check) first, the two newest apart.

    Under -n 2, xdist hands each worker two consecutive tests to start with:
    the two newest steps then run side by side, not one after the other.
    """
    newest = [step.number for step in reversed(STEPS)]
    return [*newest[0:4:2], *newest[1:4:2], *newest[4:]]


@pytest.mark.export
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("number", longest_first(), ids=lambda n: f"step{n:02d}")
def test_an_exported_step_installs_serves_and_passes_its_own_tests(
    number: int, tmp_path: Path
) -> None:
    step = catalog.get(number)
    project = tmp_path / "my-api"
    export.export(step, project)
    bin_dir = project / ".venv" / "bin"

    # The README's set-up, as written: a venv made by this interpreter, with the pip it
    # brings (no upgrade), and the project's own requirements.lock.
    setup = documented.shell_blocks((project / "README.md").read_text())[0]
    assert setup[0] == "python3 -m venv .venv", setup
    run_in(project, sys.executable, "-m", "venv", ".venv", timeout=300)
    for line in setup[1:]:
        run_in(project, *shlex.split(line), timeout=900)

    # The README's run command, on the default database: data/app.db.
    if step.offers("migrations"):
        run_in(
            project,
            str(bin_dir / "alembic"),
            "-c",
            "app/alembic.ini",
            "upgrade",
            "head",
            timeout=120,
        )
    port = free_port()
    with UvicornServer(
        export.APP,
        port=port,
        command=[str(bin_dir / "uvicorn"), export.APP, "--host", HOST, "--port", str(port)],
        base_env=clean_environment(),
        cwd=project,
        log_path=tmp_path / "uvicorn.log",
    ) as server:
        status, task = request("POST", f"{server.url}/tasks", {"title": "Buy milk"})
        assert status == 201
        assert request("GET", f"{server.url}/tasks/{task['id']}") == (200, task)
    assert (project / "data" / "app.db").is_file() == step.offers("persistent")

    # Its own tests, as `.venv/bin/pytest` runs them (their temporary files kept apart).
    tests = run_in(
        project,
        str(bin_dir / "pytest"),
        "-p",
        "no:cacheprovider",
        f"--basetemp={tmp_path / 'pytest'}",
        timeout=1000,
    )
    assert " passed" in tests.stdout.splitlines()[-1]
