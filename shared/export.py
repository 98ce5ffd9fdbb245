"""Take a step with you: step N as a project of its own, with its contract tests.

    python -m shared.export N DEST        make export STEP=N DEST=path

The project imports nothing from this repository:

    app/               the step's code (from step 5, its alembic.ini and migrations/ too)
    app/plumbing/      what the step takes from shared/ (offline docs, body limit, 422s)
    tests/             the step's contract tests, from this suite, judging app.main:app
    data/              the default SQLite database (from step 6, the signing key too)
    pyproject.toml     the step's direct dependencies and a dev extra, pytest's settings
    requirements.lock  every package they need, from this repository's lock, with its hashes
    README.md  .gitignore

The tests are the suite's own, chosen the way `make check` chooses them (the
contract of step N, without the tests about the step's own files), copied
with the helpers they import. Every path and import that names this
repository is rewritten, and each rewrite that must happen is checked: a
change to a step or to the suite that a rewrite no longer matches stops the
export with the rewrite's name, instead of writing a project that fails later.
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from shared import catalog
from shared.catalog import ROOT, Step

TESTS_DIR = ROOT / "tests"
# The suite's folders an exported project's tests come from (its contract, both tiers).
TIERS = ("tests/lesson", "tests/full")
SHARED_DIR = ROOT / "shared"
# What a step's folder may hold besides its code: caches, a database.
COPIED = shutil.ignore_patterns("__pycache__", ".*_cache", "*.pyc", "*.db", "*.db-wal", "*.db-shm")
TEXT_SUFFIXES = frozenset({".py", ".ini", ".mako"})
APP = "app.main:app"

# Tests that `make check` runs but an exported project cannot: fuzzing needs
# schemathesis (and minutes), and `repository` tests need more of this
# repository than the step (the step before it, the docs' tests).
LEFT_OUT = (
    "fuzz",
    "fresh_install",
    "selfcheck",
    "exercise",
    "exercise_meta",
    "export",
    "repository",
)


def left_out(markers: Iterable[str]) -> str:
    """`-m` leaving out the `LEFT_OUT` markers among `markers` (pytest refuses unknown names)."""
    return " and ".join(f"not {marker}" for marker in LEFT_OUT if marker in markers)


# Needed at run time though the step's code never imports them: uvicorn
# serves the app, pydantic loads email-validator for EmailStr, FastAPI loads
# python-multipart for the login form, and an async engine runs in greenlets
# and reaches SQLite through aiosqlite.
LOADED_BY_NAME: dict[str, tuple[str, ...]] = {
    "tasks": ("uvicorn[standard]",),
    "users": ("email-validator",),
    "auth": ("python-multipart",),
    "async": ("sqlalchemy[asyncio]", "aiosqlite"),
}
# What the tests' client needs whatever the tests import.
DEV_ALWAYS = ("pytest", "httpx2")
# Whoever imports these needs their extra: psycopg brings its own libpq (no
# system library to install), pwdlib's Argon2 hasher needs argon2-cffi.
WITH_EXTRAS = {"psycopg": "psycopg[binary]", "pwdlib": "pwdlib[argon2]"}


class ExportError(Exception):
    """The step could not be exported as it is; nothing usable was written."""


@dataclass(frozen=True)
class Rewrite:
    """`old` becomes `new`; a required rewrite that matches nothing stops the export."""

    old: str
    new: str
    required: bool = True

    def apply(self, text: str, where: str) -> str:
        if self.required and self.old not in text:
            raise ExportError(
                f"{where}: expected {self.old!r} (to become {self.new!r}); "
                "the step or the suite changed: update shared/export.py"
            )
        return text.replace(self.old, self.new)


# --- where things go -----------------------------------------------------------------


def imported_modules(path: Path, *, nested: bool = True) -> Iterator[str]:
    """The absolute modules `path` imports: at any depth (a test may import inside
    itself), or only at the top of the module (`nested=False`)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree) if nested else tree.body:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def local_file(module: str) -> Path | None:
    """The repository's file for `shared.x` or `tests.support.x`, if it is one."""
    for package in ("shared", "tests.support"):
        if module.startswith(package + "."):
            name = module.removeprefix(package + ".").split(".")[0]
            path = ROOT.joinpath(*package.split("."), f"{name}.py")
            return path if path.is_file() else None
    return None


def closure(files: Iterable[Path]) -> set[Path]:
    """`files` and the modules of shared/ and tests/support/ they import, and theirs."""
    seen: set[Path] = set()
    todo = list(files)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo += [f for module in imported_modules(path) if (f := local_file(module))]
    return seen


def contract_test_files(step: Step) -> list[Path]:
    """The test modules with a test that `make check STEP=N` would run, from pytest itself."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--step={step.number}",
            f"--app={step.app_ref}",
            "--backend=sqlite",
            "-m",
            left_out(LEFT_OUT),
            *TIERS,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ExportError(f"collecting step {step.number}'s tests failed:\n{result.stderr}")
    modules = {line.split("::")[0] for line in result.stdout.splitlines() if "::" in line}
    return sorted(ROOT / module for module in modules)


# --- the app -------------------------------------------------------------------------


def app_rewrites(step: Step, path: Path) -> list[Rewrite]:
    """How one file of the step's folder leaves the repository."""
    rewrites = [
        Rewrite(f"steps.{step.package}", "app", required=False),
        Rewrite(f"steps/{step.package}", "app", required=False),
        Rewrite("from the repository root", "from the project's folder", required=False),
        Rewrite("(plumbing, see shared/plumbing/)", "(plumbing, see plumbing/)", required=False),
    ]
    relative = path.relative_to(step.path).as_posix()
    # The default database's folder: in database.py, or from step 6 on in settings.py.
    where_data_lives = "settings.py" if (step.path / "settings.py").exists() else "database.py"
    if relative == where_data_lives:
        rewrites.append(
            Rewrite(
                "# The default database is a file named after this step in the repository's\n"
                "# .data/ folder, wherever uvicorn, alembic or pytest was started from.\n"
                'DATA_DIR = Path(__file__).resolve().parents[2] / ".data"',
                "# The default database is a file in this project's data/ folder, made at\n"
                "# the first start, wherever uvicorn, alembic or pytest was started from.\n"
                'DATA_DIR = Path(__file__).resolve().parents[1] / "data"',
            )
        )
    if relative == "database.py" and step.offers("migrations"):
        rewrites.append(Rewrite("alembic -c steps/{", "alembic -c {"))
    if relative == "alembic.ini":
        # env.py imports `app`, which lives one folder up from alembic.ini.
        rewrites.append(
            Rewrite("prepend_sys_path = %(here)s/../..", "prepend_sys_path = %(here)s/..")
        )
    return rewrites


def copy_app(step: Step, app_dir: Path) -> set[str]:
    """The step's folder as `app/`, with shared/plumbing/ as `app/plumbing/`.

    Returns the names the tests import from shared/ that are the app's: the
    plumbing package (its modules are the app's copy from now on).
    """
    shutil.copytree(step.path, app_dir, ignore=COPIED)
    uses_plumbing = False
    for path in sorted(app_dir.rglob("*")):
        if path.suffix not in TEXT_SUFFIXES:
            continue
        source = step.path / path.relative_to(app_dir)
        text = source.read_text()
        for rewrite in app_rewrites(step, source):
            text = rewrite.apply(text, f"steps/{step.package}/{source.relative_to(step.path)}")
        # The docs' section markers (`# --8<-- [start:models]`) mean nothing here;
        # without them, two blank lines are enough.
        text = re.sub(r"^ *# --8<-- \[(start|end):\w+\]\n", "", text, flags=re.MULTILINE)
        text = re.sub(r"\n{4,}", "\n\n\n", text).rstrip("\n") + "\n"
        if re.search(r"^from shared\.(?!plumbing\b)", text, flags=re.MULTILINE):
            raise ExportError(f"{source}: a step takes only its plumbing from shared/")
        uses_plumbing |= bool(re.search(r"^from shared\.plumbing\b", text, flags=re.MULTILINE))
        dots = "." * len(path.relative_to(app_dir).parts)  # main.py: 1, routers/users.py: 2
        text = re.sub(r"^from shared\.plumbing\b", f"from {dots}plumbing", text, flags=re.MULTILINE)
        path.write_text(one_block_of_relative_imports(text))
    if not uses_plumbing:
        return set()
    copy_plumbing(app_dir / "plumbing")
    return {"plumbing"}


def one_block_of_relative_imports(text: str) -> str:
    """The plumbing's import, now relative, joins the block of the app's own, sorted (isort)."""
    pattern = r"^((?:from \.+plumbing[\w.]* import [^\n(]+\n)+)\n((?:from \.[^\n(]+\n)+)"

    def merge(match: re.Match[str]) -> str:
        lines = (match[1] + match[2]).splitlines(keepends=True)
        return "".join(sorted(lines, key=lambda line: line.split(" import ")[0]))

    return re.sub(pattern, merge, text, flags=re.MULTILINE)


def copy_plumbing(folder: Path) -> None:
    """shared/plumbing/, which imports nothing else of this repository."""
    source = SHARED_DIR / "plumbing"
    for path in source.glob("*.py"):
        if any(m.startswith("shared") for m in imported_modules(path)):
            raise ExportError(f"{path.relative_to(ROOT)} imports shared/ itself: copy that too")
    shutil.copytree(source, folder, ignore=COPIED)


# --- the tests -----------------------------------------------------------------------


def module_rewrites(plumbing: set[str], support: set[str]) -> list[Rewrite]:
    """`shared.x` becomes `app.plumbing.x` (the app's) or `tests.support.x` (the tests')."""
    rewrites = [
        Rewrite("from shared.plumbing", "from app.plumbing", required=False),
        Rewrite("shared/plumbing/", "app/plumbing/", required=False),
    ]
    for name in sorted(support):
        rewrites += [
            Rewrite(
                f"from shared.{name} import", f"from tests.support.{name} import", required=False
            ),
            Rewrite(f"shared/{name}.py", f"tests/support/{name}.py", required=False),
        ]
    return rewrites


def rewrite_from_shared_import(text: str, plumbing: set[str], where: str) -> str:
    """`from shared import catalog, permissions`: the names must all go to one place."""

    def replace(match: re.Match[str]) -> str:
        names = {name.strip() for name in match[1].split(",")}
        places = {"app.plumbing" if name in plumbing else "tests.support" for name in names}
        if len(places) != 1:
            raise ExportError(f"{where}: {match[0]!r} mixes the app's plumbing and the tests'")
        return f"from {places.pop()} import {match[1]}"

    return re.sub(r"^from shared import ([\w, ]+)$", replace, text, flags=re.MULTILINE)


# The command the app names when its database is behind, in a project whose app is `app/`.
UPGRADE_COMMAND = Rewrite(
    'f"alembic -c steps/{step.package}/alembic.ini upgrade head"',
    '"alembic -c app/alembic.ini upgrade head"',
)
# The suite's own files, changed for a project whose app is its only one.
SUITE_REWRITES = {
    "tests/full/test_first_admin.py": [UPGRADE_COMMAND],
    "tests/support/migrations.py": [UPGRADE_COMMAND],
    # ROOT is the project's folder: two levels up from tests/support/catalog.py.
    "shared/catalog.py": [
        Rewrite(
            "ROOT = Path(__file__).resolve().parent.parent",
            "ROOT = Path(__file__).resolve().parents[2]",
        )
    ],
}


def copy_tests(step: Step, dest: Path, plumbing: set[str]) -> list[Path]:
    """The contract tests and what they import; returns the copies."""
    tests = contract_test_files(step)
    files = closure([TESTS_DIR / "conftest.py", *tests])
    support = {p.stem for p in files if p.parent == SHARED_DIR} - plumbing
    rewrites = module_rewrites(plumbing, support)
    copies = []
    for source in sorted(files):
        if source.parent == SHARED_DIR:
            if source.stem in plumbing:
                continue  # the app's copy in app/plumbing/ serves the tests too
            relative = Path("tests", "support", source.name)
        else:
            relative = source.relative_to(ROOT)
        where = source.relative_to(ROOT).as_posix()
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        text = source.read_text()
        for rewrite in rewrites + SUITE_REWRITES.get(where, []):
            text = rewrite.apply(text, where)
        text = rewrite_from_shared_import(text, plumbing, where)
        target.write_text(
            f"# From the tutorial's {where}, by `make export STEP={step.number}`.\n{text}"
        )
        copies.append(target)
    for package in ("tests", "tests/support", *TIERS):
        (dest / package / "__init__.py").touch()
    return copies


# --- dependencies --------------------------------------------------------------------


def locked_versions() -> dict[str, str]:
    lock = (ROOT / "requirements.lock").read_text()
    return {
        canonicalize_name(name): version
        for name, version in re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", lock, flags=re.MULTILINE)
    }


@dataclass
class Locked:
    """One package of requirements.lock: its lines (`name==version ; markers`, its hashes),
    and the packages that require it (uv's "# via" comments)."""

    name: str
    lines: list[str] = field(default_factory=list)
    required_by: set[str] = field(default_factory=set)


def locked_packages() -> list[Locked]:
    packages: list[Locked] = []
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        comment = line.strip().removeprefix("#").strip() if line.lstrip().startswith("#") else None
        if line[:1].isalnum():
            packages.append(Locked(canonicalize_name(line.split("==")[0]), [line]))
        elif packages and comment is None and line.strip():
            packages[-1].lines.append(line)  # a hash
        elif packages and comment:
            by = comment.removeprefix("via").strip()
            if by and " " not in by:  # not "... (pyproject.toml)": this repository itself
                packages[-1].required_by.add(canonicalize_name(by))
    return packages


def locked_subset(requirements: Iterable[str]) -> str:
    """The lines of this repository's lock for `requirements` and all they need, hashes included.

    uv wrote each package's "# via" comments: the packages that require it. A
    package is needed when one of those is, so the closure is read from the
    lock alone (no index, no resolver): the versions this tutorial was tested
    with, dependencies of dependencies included. It may keep a package that only
    an extra of this repository asked for (uvicorn's `standard`): installed,
    never imported, harmless.
    """
    packages = locked_packages()
    needed = {canonicalize_name(Requirement(r).name) for r in requirements}
    while more := {p.name for p in packages if p.name not in needed and p.required_by & needed}:
        needed |= more
    missing = needed - {p.name for p in packages}
    if missing:
        raise ExportError(f"{', '.join(sorted(missing))}: not in requirements.lock")
    return "".join("\n".join(p.lines) + "\n" for p in packages if p.name in needed)


def distributions_imported_by(files: Iterable[Path]) -> set[str]:
    """The installed distributions whose modules `files` import at their top.

    Not the imports inside a function: the tests that import more (a browser
    driver) are the ones an exported project leaves out.
    """
    providers = importlib.metadata.packages_distributions()
    found: set[str] = set()
    for path in files:
        for module in imported_modules(path, nested=False):
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top in ("app", "tests", "__future__"):
                continue
            if top not in providers:
                raise ExportError(f"{path} imports {top}, which no installed distribution provides")
            name = providers[top][0]
            found.add(WITH_EXTRAS.get(name, name))
    return found


def pinned(requirements: Iterable[str], versions: dict[str, str]) -> list[str]:
    """One `name[extras]==version` per distribution, extras merged, from the lock."""
    extras: dict[str, set[str]] = {}
    for text in requirements:
        requirement = Requirement(text)
        extras.setdefault(canonicalize_name(requirement.name), set()).update(requirement.extras)
    lines = []
    for name, wanted in sorted(extras.items()):
        if name not in versions:
            raise ExportError(f"{name} is not in requirements.lock")
        suffix = f"[{','.join(sorted(wanted))}]" if wanted else ""
        lines.append(f"{name}{suffix}=={versions[name]}")
    return lines


def dependencies(step: Step, app_dir: Path, tests: list[Path]) -> tuple[list[str], list[str]]:
    """(runtime, dev): what the app needs, and what the tests need besides."""
    versions = locked_versions()
    runtime = distributions_imported_by(app_dir.rglob("*.py"))
    runtime |= {r for feature in step.features for r in LOADED_BY_NAME.get(feature, ())}
    dev = (distributions_imported_by(tests) | set(DEV_ALWAYS)) - runtime
    runtime_names = {canonicalize_name(Requirement(r).name) for r in runtime}
    dev = {r for r in dev if canonicalize_name(Requirement(r).name) not in runtime_names}
    return pinned(runtime, versions), pinned(dev, versions)


# --- the project's own files ---------------------------------------------------------


def project_name(dest: Path) -> str:
    name = re.sub(r"[^a-z0-9]+", "-", dest.resolve().name.lower()).strip("-")
    return name or "my-api"


def marker_name(declaration: str) -> str:
    """`requires(*features): run only ...` -> `requires`."""
    return re.split(r"[(:]", declaration, maxsplit=1)[0]


def used_markers(tests: Iterable[Path]) -> list[str]:
    """The suite's marker declarations (pyproject.toml) that the copied tests use."""
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    text = "\n".join(path.read_text() for path in tests)
    return [
        declaration
        for declaration in options["ini_options"]["markers"]
        if re.search(rf"\bmark\.{marker_name(declaration)}\b", text)
    ]


def toml_list(items: Iterable[str], indent: str = "    ") -> str:
    return "[\n" + "".join(f"{indent}{toml_string(item)},\n" for item in items) + "]"


def toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def pyproject(step: Step, name: str, runtime: list[str], dev: list[str], tests: list[Path]) -> str:
    markers = used_markers(tests)
    addopts = [
        "-rfE",
        "--strict-markers",
        f"--step={step.number}",
        f"--app={APP}",
        "--backend=sqlite",
    ]
    if expression := left_out({marker_name(m) for m in markers}):
        addopts += ["-m", expression]
    return f"""[project]
name = "{name}"
version = "0.1.0"
description = "Started from step {step.number} of the FastAPI + SQLAlchemy tutorial: {step.title}."
requires-python = ">=3.11"
# The direct dependencies, at the versions the tutorial was tested with;
# requirements.lock pins them and everything they need, with hashes.
dependencies = {toml_list(runtime)}

[project.optional-dependencies]
dev = {toml_list(dev)}

# Only to build the project as a package (`pip wheel .`); the README's set-up
# runs it from this folder, with requirements.lock.
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["app"]

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["."]
# Step {step.number}'s contract, from the tutorial's suite, judging this project's app
# (tests/conftest.py); --backend=postgresql with TEST_DATABASE_URL set adds PostgreSQL.
addopts = {toml_list(addopts)}
filterwarnings = ["error"]
markers = {toml_list(markers)}
"""


def lock_header(step: Step) -> str:
    return (
        f"# Every package this project (step {step.number} of the tutorial) needs,\n"
        "# from the tutorial's own lock:\n"
        "#   .venv/bin/pip install --no-deps --require-hashes -r requirements.lock\n"
    )


def readme(step: Step, name: str) -> str:
    run = "uvicorn app.main:app --reload"
    if step.offers("migrations"):
        run = f"alembic -c app/alembic.ini upgrade head && .venv/bin/{run}"
    where = (
        "Its data lives in `data/app.db`, made at the first start; set `DATABASE_URL` to use"
        " another database."
        if step.offers("persistent")
        else "Its data lives in memory: a restart forgets it."
    )
    admin = (
        "\nThe first admin: `.venv/bin/python -m app.create_admin ada --email ada@example.com`."
        "\nTokens are signed with `SECRET_KEY`, or with a key made once in `data/app.key`.\n"
        if step.offers("auth")
        else ""
    )
    return f"""# {name}

Started from step {step.number} of the FastAPI + SQLAlchemy tutorial, "{step.title}",
with `make export STEP={step.number}`. The code in `app/` is yours to change; `tests/`
holds the step's contract tests, from the tutorial's suite, judging `app.main:app`.

Set up once, with Python 3.11 or newer:

```bash
python3 -m venv .venv
.venv/bin/pip install --no-deps --require-hashes -r requirements.lock
.venv/bin/pip check
```

`requirements.lock` pins every package the project needs, dependencies of
dependencies included, to the versions the tutorial was tested with, each with
its hashes: nothing a newer release brings can change the install. Installed
with `--no-deps`, pip takes the file as it is; `pip check` proves nothing is
missing. `pyproject.toml` names the direct dependencies: when you add one, make
the lock again with a tool that writes hashes, such as uv's `pip compile
--generate-hashes` (the tutorial's `make lock` shows how).

Run it (then open http://127.0.0.1:8000/docs):

```bash
.venv/bin/{run}
```

Test it:

```bash
.venv/bin/pytest
```

{where}
{admin}"""


def gitignore(step: Step) -> str:
    text = ".venv/\n__pycache__/\n*.py[cod]\n.pytest_cache/\n"
    if step.offers("persistent"):
        text += "# the SQLite database (and the signing key); the folder itself is kept\ndata/*\n"
        text += "!data/.gitkeep\n"
    return text


# --- all of it -----------------------------------------------------------------------


def refuse_non_empty(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ExportError(f"{dest} is not an empty folder: nothing was written")


def check_standalone(dest: Path) -> None:
    """No import of this repository's packages, anywhere in the project."""
    for path in sorted(dest.rglob("*.py")):
        for module in imported_modules(path):
            if module.split(".")[0] in ("shared", "steps"):
                raise ExportError(f"{path.relative_to(dest)} still imports {module}")


def export(step: Step, dest: Path) -> None:
    """Write `step` as a project in `dest`, a new or empty folder; on failure, leave it so."""
    refuse_non_empty(dest)
    existed = dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        write_project(step, dest)
    except BaseException:
        shutil.rmtree(dest)
        if existed:
            dest.mkdir()
        raise


def write_project(step: Step, dest: Path) -> None:
    plumbing = copy_app(step, dest / "app")
    tests = copy_tests(step, dest, plumbing)
    runtime, dev = dependencies(step, dest / "app", tests)
    name = project_name(dest)
    (dest / "pyproject.toml").write_text(pyproject(step, name, runtime, dev, tests))
    (dest / "requirements.lock").write_text(lock_header(step) + locked_subset(runtime + dev))
    (dest / "README.md").write_text(readme(step, name))
    (dest / ".gitignore").write_text(gitignore(step))
    if step.offers("persistent"):
        (dest / "data").mkdir()
        (dest / "data" / ".gitkeep").touch()
    check_standalone(dest)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.export", description=__doc__)
    parser.add_argument("step", type=int)
    parser.add_argument("dest", type=Path, help="an empty or new folder")
    args = parser.parse_args(argv)
    try:
        step = catalog.get(args.step)
        export(step, args.dest)
    except (LookupError, ExportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Step {step.number} ({step.title}) is now a project of its own in {args.dest}.")
    print(f"Next: cd {args.dest}, then follow its README.md (set up, run, test).")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
