"""`make export STEP=N DEST=path`: every step leaves the repository as a project of its own.

The fast tests (part of `make test`) check what an export writes. The tests
marked `export` (run by CI: `pytest -m export`) do what a learner does with
each exported step: a venv made by the interpreter's own pip, the README's
set-up (its requirements.lock, hash-checked), the README's run command, its
welcome naming the app by the NAME it was given, one record created and read
over HTTP, and the project's own tests, which must pass: the whole suite
(`pytest`) for the newest step, and for the step the page on your own tests
exports once the page is followed; the contract (`pytest tests/lesson`, as the
README gives it) for every step, with the rest of its suite collected. Each
step's check is one test (one venv), up to a few minutes long: CI runs them
with a longer watchdog than the suite's 7 minutes (pyproject.toml), as

    pytest -p no:cacheprovider -n 2 -o faulthandler_timeout=1200 -m export \
        tests/tutorial/test_export.py
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from shared import catalog, export
from shared.catalog import ROOT, STEPS
from shared.server import HOST, UvicornServer, free_port
from tests.support import documented, make, once

# From the project's folder only: imports its app and prints GET /'s body (the
# lifespan, which would need a migrated database, does not run outside `with`),
# then imports every module named on the command line and prints the files of
# those it loaded from this repository. One process for both: each costs a
# Python start and the app's import, which the two checks can share.
IMPORT_ALL = """
import importlib, json, pathlib, sys
project, repository = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
sys.path.insert(0, str(project))
from fastapi.testclient import TestClient
from app.main import app
welcome = TestClient(app).get("/").json()
for name in sys.argv[3:]:
    importlib.import_module(name)
files = [pathlib.Path(m.__file__).resolve() for m in list(sys.modules.values())
         if getattr(m, "__file__", None)]
print(json.dumps({"welcome": welcome, "repository": [
    str(f) for f in files
    if f.is_relative_to(repository) and not f.is_relative_to(repository / ".venv")]}))
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


def test_an_exported_project_imports_nothing_of_this_repository(
    named: Exported, loaded: dict
) -> None:
    """Its app and its tests import with the repository off sys.path, and load none of it."""
    project = named.path
    for path in project.rglob("*.py"):
        imported = set(export.imported_modules(path))
        assert not {m for m in imported if m.split(".")[0] in ("shared", "steps")}, path
    assert loaded["repository"] == []
    assert "app.main" in modules_of(project)
    assert "tests.conftest" in modules_of(project)


# --- the learner's own project: its name, its words, its dependencies ---------------

NAME = "Ada's Library API"


class Exported(NamedTuple):
    path: Path
    name: str  # the app's title, as NAME= gave it
    package: str  # the name pyproject.toml must give it
    number: int  # the step it was exported from


Ran = once.Record  # a process's returncode, stdout and stderr, as JSON keeps them
MadeBy = Callable[..., tuple[Ran, Path]]


def once_per_run(
    tmp_path_factory: pytest.TempPathFactory, name: str, write: Callable[[Path], Ran]
) -> tuple[Ran, Path]:
    """`write(folder)` once in the run (tests/support/once.py), in a folder named apart
    from other modules' (the tests only read what an export wrote; the page's test
    changes a copy)."""
    return once.once_per_run(tmp_path_factory, f"test_export-{name}", write)


def ran(result: subprocess.CompletedProcess[str]) -> Ran:
    return {"returncode": result.returncode, "stdout": result.stdout, "stderr": result.stderr}


@pytest.fixture(scope="session")
def make_export(tmp_path_factory: pytest.TempPathFactory) -> MadeBy:
    """`make export` with these arguments (DEST=, if any, left out), run once in the run
    (once_per_run) into a new folder `my-api`: what it printed, and the project."""

    def run(*args: str) -> tuple[Ran, Path]:
        kept = [arg for arg in args if not arg.startswith("DEST=")]
        name = "make-" + re.sub(r"\W+", "-", " ".join(kept)).strip("-")
        made, folder = once_per_run(
            tmp_path_factory,
            name,
            lambda folder: ran(make.run(*kept, f"DEST={folder / 'my-api'}")),
        )
        return made, folder / "my-api"

    return run


def export_named(folder: Path, number: int) -> Ran:
    """Step `number` exported into folder/library as the app called NAME."""
    try:
        export.export(catalog.get(number), folder / "library", NAME)
    except export.ExportError as error:
        return {"returncode": 2, "stdout": "", "stderr": str(error)}
    return {"returncode": 0, "stdout": "", "stderr": ""}


@pytest.fixture(
    scope="module",
    params=[5, catalog.latest().number],
    ids=lambda n: f"step{n:02d}",
)
def named(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    make_export: MadeBy,
) -> Exported:
    """Step 5 (no logins) as `make export STEP=5 NAME="My API"`, the command of the page
    on your own tests (which the page's test and the docs' test reuse); the newest
    (everything) exported as the app called NAME, a name that is no identifier: its
    quote must survive Python's strings, JSON and the package's name."""
    number = request.param
    if number == 5:
        made, project = make_export("export", "STEP=5", "NAME=My API")
        assert made["returncode"] == 0, made["stderr"]
        return Exported(project, "My API", "my-api", number)
    made, folder = once_per_run(
        tmp_path_factory, f"export{number}", lambda folder: export_named(folder, number)
    )
    assert made["returncode"] == 0, made["stderr"]
    return Exported(folder / "library", NAME, "ada-s-library-api", number)


@pytest.fixture(scope="module")
def loaded(named: Exported, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """What IMPORT_ALL prints on the project, once in the run: its welcome, and the
    repository's files it loaded. With the repository off sys.path (-I) and nothing in
    the environment but a database that nothing creates (the lifespan does not run)."""
    project = named.path

    def load(folder: Path) -> Ran:
        command = [sys.executable, "-IB", "-c", IMPORT_ALL, str(project), str(ROOT)]
        return ran(
            subprocess.run(
                [*command, *modules_of(project)],
                cwd=project,
                env={"DATABASE_URL": f"sqlite:///{folder / 'unused.db'}"},
                capture_output=True,
                text=True,
                timeout=120,
            )
        )

    name = "loaded-" + project.parent.name.removeprefix("test_export-")
    result, _ = once_per_run(tmp_path_factory, name, load)
    assert result["returncode"] == 0, result["stderr"]
    return json.loads(result["stdout"])


def offers_logins(project: Path) -> bool:
    """Whether the exported app has logins, as its tests' contract.py says."""
    contract = (project / "tests" / "support" / "contract.py").read_text()
    features = re.search(r"^PROJECT = Project\((.*?)\)$", contract, re.MULTILINE | re.DOTALL)
    assert features, contract
    return '"auth"' in features[1]


def test_the_app_is_called_by_its_name(named: Exported) -> None:
    """NAME= is the app's title (its /docs and its welcome), the README's and the package's."""
    project, name = named.path, named.name
    assert f"title={json.dumps(name)}," in (project / "app" / "main.py").read_text()
    assert (project / "README.md").read_text().startswith(f"# {name}\n")
    package = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert package["name"] == named.package
    assert package["description"].startswith(name)
    contract = (project / "tests" / "support" / "contract.py").read_text()
    assert f"title={json.dumps(name)}" in contract


def test_its_welcome_names_the_app_and_no_step(named: Exported, loaded: dict) -> None:
    """GET / answers with the app's title: no step number, no lesson's title."""
    assert loaded["welcome"] == {"title": named.name, "docs": "/docs"}


def test_nothing_in_it_speaks_of_steps(named: Exported) -> None:
    """`grep -ri step` in the project finds nothing: no comment, option, name or test id."""
    project = named.path
    found = [
        f"{path.relative_to(project)}:{number}: {line.strip().decode(errors='replace')}"
        for path in sorted(project.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
        for number, line in enumerate(path.read_bytes().splitlines(), 1)
        if re.search(b"step", line, re.IGNORECASE)
    ]
    assert found == []
    options = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["pytest"]
    assert options["ini_options"]["addopts"] == ["-rfE", "--strict-markers", "--backend=sqlite"]
    assert not (project / "tests" / "support" / "catalog.py").exists()


def test_it_is_formatted_and_lint_clean(named: Exported) -> None:
    """By ruff's own rules, at the project's line length (its pyproject.toml): the
    renamed tests were formatted again, and no import is left unused."""
    for command in (["check", "--select=E,W,F,I"], ["format", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--no-cache", "."],
            cwd=named.path,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_it_holds_only_the_project(named: Exported) -> None:
    """No cache or other leftover of the tools that wrote it."""
    tops = {path.name for path in named.path.iterdir()}
    assert tops <= {
        "app",
        "tests",
        "data",
        "README.md",
        "pyproject.toml",
        ".gitignore",
        "requirements.lock",
        "requirements-runtime.lock",
    }


def imported_tops(project: Path) -> set[str]:
    """The top-level modules the project's files import, at their top or in a function."""
    return {
        module.split(".")[0]
        for path in project.rglob("*.py")
        for module in export.imported_modules(path)
    }


def test_its_dependencies_are_the_ones_its_code_imports(named: Exported) -> None:
    """Each package pyproject.toml names is imported by the project's code or tests, or
    loaded by name by what it runs (uvicorn, email-validator, ...); the lock holds them
    and what they need, nothing else."""
    project = named.path
    package = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    named_requirements = package["dependencies"] + package["optional-dependencies"]["dev"]
    loaded_by_name = {
        canonicalize_name(Requirement(r).name)
        for requirements in export.LOADED_BY_NAME.values()
        for r in requirements
    } | {canonicalize_name(Requirement(r).name) for r in export.DEV_ALWAYS}
    providers = importlib.metadata.packages_distributions()
    imported = {
        canonicalize_name(distribution)
        for top in imported_tops(project)
        for distribution in providers.get(top, [])
    }
    names = {canonicalize_name(Requirement(r).name) for r in named_requirements}
    assert names - imported - loaded_by_name == set()
    locked = set(re.findall(r"^([a-z0-9-]+)==", (project / "requirements.lock").read_text(), re.M))
    assert names <= locked


def test_an_export_without_logins_installs_no_login_library(named: Exported) -> None:
    """Step 5 has no passwords or tokens: neither pwdlib nor PyJWT, nor Argon2, is installed
    (the tests' helpers for logins import them only where they are used)."""
    locked = set(
        re.findall(r"^([a-z0-9-]+)==", (named.path / "requirements.lock").read_text(), re.M)
    )
    logins = {"pwdlib", "pyjwt", "argon2-cffi"}
    if offers_logins(named.path):
        assert logins <= locked
    else:
        assert locked & logins == set()


# --- the page on writing your own tests, followed as written --------------------------

YOUR_TESTS = ROOT / "docs" / "your-tests.md"
# A block the page asks to write (python) or change (diff) in the project: its title
# is the file's path.
TITLED_BLOCK = re.compile(r'```(python|diff) title="([^"]+)"\n(.*?)```', flags=re.DOTALL)


def page_command() -> str:
    """The page's `make export` command."""
    [command] = [c for c in documented.shell_lines(YOUR_TESTS.read_text()) if "export" in c]
    return command


def page_export() -> tuple[int, str]:
    """The step and the NAME of the page's `make export` command."""
    words = dict(word.split("=", 1) for word in shlex.split(page_command()) if "=" in word)
    return int(words["STEP"]), words["NAME"]


def apply_diff(path: Path, diff: str) -> None:
    """A change as the page shows it (context, `-` and `+` lines, no header): the one
    place of the file with its context and `-` lines gets its context and `+` lines."""
    old, new = [], []
    for line in diff.splitlines():
        mark, text = (line[:1], line[1:]) if line else (" ", "")
        assert mark in " -+", f"{path.name}: not a line of a diff: {line!r}"
        if mark in " -":
            old.append(text)
        if mark in " +":
            new.append(text)
    content = path.read_text()
    before, after = "\n".join(old) + "\n", "\n".join(new) + "\n"
    assert content.count(before) == 1, f"{path.name} has not exactly one place for:\n{before}"
    path.write_text(content.replace(before, after))


def follow_the_page(project: Path) -> None:
    """Every change and new file the page shows, made in the project in the page's order."""
    blocks = TITLED_BLOCK.findall(YOUR_TESTS.read_text())
    assert blocks, "the page shows no file to change"
    for kind, relative, body in blocks:
        path = project / relative
        if kind == "diff":
            apply_diff(path, body)
        else:
            assert not path.exists(), f"{relative} is new on the page, but the project has one"
            path.write_text(body)


def run_them() -> list[list[str]]:
    """The pytest commands of the page's "Run them" section, as argument lists."""
    section = YOUR_TESTS.read_text().split("\n## Run them\n")[1].split("\n## ")[0]
    commands = [shlex.split(line) for line in documented.shell_lines(section)]
    assert commands, "no command in Run them"
    assert all(command[0] == ".venv/bin/pytest" for command in commands), commands
    return commands


def test_the_page_on_your_own_tests_runs_in_an_exported_project(
    tmp_path: Path, make_export: MadeBy
) -> None:
    """The page's changes, made in what its `make export` command writes, and its new tests
    pass there, with the project's tests of tasks and of migrations (`alembic check`
    included); CI runs the page's commands as written, the whole suite too, in the
    project's own venv (below)."""
    exported, written = make_export(*shlex.split(page_command())[1:])
    assert exported["returncode"] == 0, exported["stderr"]
    project = tmp_path / "my-api"
    shutil.copytree(written, project)  # a copy: the tests of `named` read the export
    follow_the_page(project)
    narrow = [command[1:] for command in run_them() if len(command) > 1]
    assert narrow, "Run them shows no command for the new tests alone"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-v",
            f"--basetemp={tmp_path / 'pytest'}",
            *[argument for command in narrow for argument in command],
            "tests/lesson/test_tasks.py",
            "tests/lesson/test_migrations.py",
        ],
        cwd=project,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr
    for relative, body in new_test_files():
        for name in re.findall(r"^def (test_\w+)", body, flags=re.MULTILINE):
            assert re.search(rf"{relative}::{name}\[\S+\] PASSED", result.stdout), name


def new_test_files() -> list[tuple[str, str]]:
    """The test files the page writes: (path, text)."""
    return [
        (relative, body)
        for kind, relative, body in TITLED_BLOCK.findall(YOUR_TESTS.read_text())
        if kind == "python" and relative.startswith("tests/")
    ]


def documented_exports() -> list[str]:
    return [c for c in documented.make_commands() if documented.target(c) == "export"]


def test_the_docs_show_make_export() -> None:
    assert documented_exports(), "no page tells learners how to export a step"


def make_words(*args: str) -> list[str]:
    """The words of the command `make -n` says make runs with these arguments."""
    result = make.run("-n", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return shlex.split(result.stdout.replace("\\\n", " "))


@pytest.mark.parametrize("command", documented_exports())
def test_documented_make_export_writes_the_project(command: str, make_export: MadeBy) -> None:
    """As the docs give it, with DEST moved into a temporary folder.

    A command that is another documented one with a NAME= added (step 6's) runs that
    one's export with --name NAME (make -n): it is not written again. The page's
    command (step 5, NAME="My API") is, and its project is called by that name
    (test_the_app_is_called_by_its_name), as make handed it over."""
    args = shlex.split(command)[1:]
    unnamed = [arg for arg in args if not arg.startswith("NAME=")]
    if unnamed != args and f"make {shlex.join(unnamed)}" in documented_exports():
        [name] = [arg.removeprefix("NAME=") for arg in args if arg.startswith("NAME=")]
        assert make_words(*args) == [*make_words(*unnamed), "--name", name]
        return
    result, project = make_export(*args)
    assert result["returncode"] == 0, result["stderr"]
    assert "is now a project of its own" in result["stdout"]
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


def run_in(
    project: Path, *command: str, timeout: float, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command,
        cwd=project,
        env=clean_environment() | (environment or {}),
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
    """The newest step (its whole suite: by far the longest check) first, then the
    oldest (the shortest), then the others, newest first.

    Under -n 2, xdist hands each worker two consecutive tests to start with and
    gives the rest to whichever worker runs short: the newest step's worker
    has only the shortest check waiting behind it.
    """
    newest = [step.number for step in reversed(STEPS)]
    return [newest[0], newest[-1], *newest[1:-1]]


# The README's command for the contract alone (its tier lesson), in its prose.
LESSON_COMMAND = re.compile(r"`(\.venv/bin/pytest tests/lesson)`")


def locked_requirements(lock: str) -> list[tuple[str, set[str]]]:
    """The requirements of a lock that this interpreter installs (their markers hold):
    (the requirement's lines, its hashes)."""
    found = []
    for package in export.locked_packages(lock):
        requirement = Requirement(package.lines[0].split("\\")[0].strip())
        if requirement.marker is None or requirement.marker.evaluate():
            block = "\n".join(package.lines) + "\n"
            found.append((block, set(re.findall(r"--hash=sha256:(\w+)", block))))
    return found


def wheelhouse_for(lock: str, wheelhouse: Path) -> None:
    """`wheelhouse` holds a wheel of each package of `lock`: pip downloads, hash-checked,
    those it has none of (by hash). xdist's workers share the folder, one at a time."""
    wheelhouse.mkdir(exist_ok=True)
    with (wheelhouse.parent / "wheelhouse.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        present = {hashlib.sha256(p.read_bytes()).hexdigest() for p in wheelhouse.glob("*.whl")}
        missing = [block for block, hashes in locked_requirements(lock) if not hashes & present]
        if not missing:
            return
        wanted = wheelhouse.parent / f"wanted-{os.getpid()}.txt"
        wanted.write_text("".join(missing))
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        command += ["--require-hashes", "--dest", str(wheelhouse), "-r", str(wanted)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.export
@pytest.mark.parametrize("tier", ["lesson", "full"])
def test_the_judge_passes_an_exported_step_on_every_rule(
    named: Exported, tier: str, tmp_path: Path
) -> None:
    """An app written outside the repository, in an exported project's layout, is judged on
    its contract: judged as the step it came from, it passes every rule of both tiers.

    Its welcome names the app, not a step, and its migrations are its own
    (`app/alembic.ini`): the judge must take both as they are.
    """
    project = tmp_path / "judged"
    shutil.copytree(named.path, project)  # the judge's runs write beside the app
    command = [sys.executable, "-m", "shared.practice", "check", str(named.number)]
    command += ["--app", export.APP, "--app-dir", str(project), "--tier", tier]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    summary = re.findall(r"^(\d+)/(\d+) rules pass$", result.stdout, flags=re.MULTILINE)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert summary, result.stdout[-3000:]
    passed, total = summary[-1]
    assert passed == total, result.stdout[-3000:]


@pytest.mark.export
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("number", longest_first(), ids=lambda n: f"step{n:02d}")
def test_an_exported_step_installs_serves_and_passes_its_own_tests(
    number: int, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    step = catalog.get(number)
    newest = step == catalog.latest()
    project = tmp_path / "my-api"
    export.export(step, project, NAME)
    bin_dir = project / ".venv" / "bin"
    readme = (project / "README.md").read_text()

    # The README's set-up, as written: a venv made by this interpreter, with the pip it
    # brings (no upgrade), and the project's own requirements.lock. For the newest step,
    # with pip set up as this machine has it; for the others (whose locks are parts of
    # the newest's), from wheels pip downloaded once into a folder all of them share:
    # the same command and hashes, without asking the index again for every package.
    setup = documented.shell_blocks(readme)[0]
    assert setup[0] == "python3 -m venv .venv", setup
    run_in(project, sys.executable, "-m", "venv", ".venv", timeout=300)
    local: dict[str, str] = {}
    if not newest:
        # The run's temporary folder, which xdist's workers each have a folder in.
        run = tmp_path_factory.getbasetemp()
        wheelhouse = (run.parent if "PYTEST_XDIST_WORKER" in os.environ else run) / "wheelhouse"
        wheelhouse_for((project / "requirements.lock").read_text(), wheelhouse)
        local = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse)}
    for line in setup[1:]:
        run_in(project, *shlex.split(line), timeout=900, environment=local)

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
        assert request("GET", f"{server.url}/") == (200, {"title": NAME, "docs": "/docs"})
        status, task = request("POST", f"{server.url}/tasks", {"title": "Buy milk"})
        assert status == 201
        assert request("GET", f"{server.url}/tasks/{task['id']}") == (200, task)
    assert (project / "data" / "app.db").is_file() == step.offers("persistent")

    # Its own tests, as `.venv/bin/pytest` runs them (their temporary files kept apart):
    # the whole suite for the newest step; for the others, the contract (the README's
    # command for it), and the whole suite collected: every file imports, every test
    # is parametrized, every marker declared. The step the page below exports runs its
    # whole suite there, once the page is followed.
    own = ["-p", "no:cacheprovider", f"--basetemp={tmp_path / 'pytest'}"]
    if newest:
        passed(run_in(project, str(bin_dir / "pytest"), *own, timeout=1000))
    else:
        [lesson] = LESSON_COMMAND.findall(readme)
        collected = run_in(
            project, str(bin_dir / "pytest"), "--collect-only", "-q", *own, timeout=300
        )
        assert re.search(r"^\d+(/\d+)? tests collected", collected.stdout, re.M), collected.stdout
        arguments = shlex.split(lesson)[1:]
        passed(run_in(project, str(bin_dir / "pytest"), *arguments, *own, timeout=1000))

    # The page on writing your own tests, on the step it exports: its changes, then its
    # commands as written, with the project's venv.
    if number == page_export()[0]:
        follow_the_page(project)
        for command in run_them():
            ran = run_in(
                project,
                str(bin_dir / "pytest"),
                *command[1:],
                "-p",
                "no:cacheprovider",
                f"--basetemp={tmp_path / 'page'}",
                timeout=1000,
            )
            passed(ran)


def passed(result: subprocess.CompletedProcess[str]) -> None:
    """pytest's closing line says tests passed (and nothing failed: its exit status was 0)."""
    assert " passed" in result.stdout.splitlines()[-1], result.stdout[-2000:]
