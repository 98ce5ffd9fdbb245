"""Take a step with you: step N as a project of its own, with its contract tests.

    python -m shared.export N DEST [--name "My API"]
    make export STEP=N DEST=path [NAME="My API"]

The project imports nothing from this repository, and is the learner's own:
the app is called NAME (its title, README and package), and nothing in it
speaks of steps (`grep -ri step` finds nothing).

    app/               the step's code (from step 5, its alembic.ini and migrations/ too)
    app/plumbing/      what the step takes from shared/ (offline docs, body limit, 422s)
    tests/             the step's contract tests, from this suite, judging app.main:app
    tests/support/contract.py   what the app offers, which chooses the tests that run
    data/              the default SQLite database (from step 6, the signing key too)
    pyproject.toml     the direct dependencies and a dev extra, pytest's settings
    requirements.lock  every package they need, from this repository's lock, with its hashes
    README.md  .gitignore   (step 8: requirements-runtime.lock, for its Dockerfile)

The tests are the suite's own, chosen the way `make check` chooses them (the
contract of step N, without the tests about the step's own files), copied
with the helpers they import, and rewritten for a project with one app: no
catalog of steps, no option that picks one, their fixture `step` is the
project's `project`, their comments and docstrings in the project's words
(`PROSE`, or left out). Its dependencies are what its files import at their
top: a helper that imports a library only an absent feature needs (PyJWT
without logins) imports it where it is used. Every path and import that names
this repository is rewritten, and each rewrite that must happen is checked: a
change to a step or to the suite that a rewrite no longer matches stops the
export with the rewrite's name, instead of writing a project that fails later;
so does a line that would still speak of steps.
"""

from __future__ import annotations

import argparse
import ast
import functools
import importlib.metadata
import io
import json
import re
import shutil
import subprocess
import sys
import textwrap
import tokenize
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
TEXT_SUFFIXES = frozenset({".py", ".ini", ".mako", ".yaml"})
TEXT_NAMES = frozenset({"Dockerfile"})
APP = "app.main:app"

# Tests that `make check` runs but an exported project cannot: fuzzing needs
# schemathesis (and minutes), `repository` tests need more of this repository
# than the step (the step before it, the docs' tests), and `internals` are about
# the step's own files (make check leaves them out too).
LEFT_OUT = (
    "fuzz",
    "fresh_install",
    "selfcheck",
    "exercise",
    "exercise_meta",
    "export",
    "repository",
    "internals",
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
    # Step 8's container runs it on PostgreSQL: SQLAlchemy loads psycopg for the URL.
    "production": ("psycopg[binary]",),
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
    regex: bool = False

    def apply(self, text: str, where: str) -> str:
        found = re.search(self.old, text, flags=re.MULTILINE) if self.regex else self.old in text
        if self.required and not found:
            raise ExportError(
                f"{where}: expected {self.old!r} (to become {self.new!r}); "
                "the step or the suite changed: update shared/export.py"
            )
        if self.regex:
            return re.sub(self.old, self.new.replace("\\", "\\\\"), text, flags=re.MULTILINE)
        return text.replace(self.old, self.new)


# --- the project's own words ---------------------------------------------------------
# An exported project is not a step of a tutorial: its names, comments, docstrings
# and options say what the code does, never which step it came from.

# Prose that says the same thing without the tutorial; what still names a step
# after these is left out (a comment block, a docstring's paragraph).
PROSE = (
    # The suite's helpers (tests/support/), as a project with one app reads them.
    ("Step 6 on: sign up,", "Sign up,"),
    (
        "Lets the contract tests of steps 3-5 speak to a step with authentication.",
        "Lets the contract tests written without logins speak to an app with them.",
    ),
    ("this adds what step 6 asks for,", "this adds what logins ask for,"),
    ("step 6's 401 for a request without a token", "the 401 of a request without a token"),
    ("the tests of step 6 itself choose", "the tests of logins themselves choose"),
    ("uses against `step`: ActAsOwner from step 6 on.", "uses: ActAsOwner when it has logins."),
    ("(docs/contract.md, from step 6 on)", "(the contract)"),
    ("so that step 7's lines count as run", "so that async code's lines count as run"),
    ("of one step's user tests", "of the user tests"),
    ("(in `make test STEP=3`, about", "(about"),
    ("one per worker, step and backend,", "one per worker and backend,"),
    ("(and, for a step with migrations, its Alembic revision)", "(and its Alembic revision)"),
    ("One app per step and database", "One app per database"),
    ("; an AsyncEngine's (step 7 on) is awaited", "; an AsyncEngine's is awaited"),
    ("Users' role from step 5 on:", "Users' role:"),
    ("anyone in step 5, an admin from step 6 on", "anyone, or an admin once there are logins"),
    (
        "Plumbing, not lessons: what every step's app needs but no step teaches.",
        "Plumbing: what the app needs besides its own routes.",
    ),
    ("A step's `main.py` calls", "`main.py` calls"),
    ("It is plumbing, not a lesson: a step adds it", "The app adds it"),
    ("This is plumbing, not a lesson: a step calls", "The app calls"),
    ("It is plumbing, not a lesson: a step calls", "The app calls"),
    ("(every step does)", "(this one does)"),
    ("The plumbing of every step, in one call", "All the plumbing, in one call"),
    ("step 7's API, ", ""),
    ("the step's own", "the app's own"),
    ("the step's app", "the app"),
    ("The step's app", "The app"),
    ("a step's app", "the app"),
    ("per (step, backend)", "per backend"),
    ("`step`", "`project`"),
    (": a rule of step 6,", ","),
    ("no step offers", "no app offers"),
    ("The step's", "The app's"),
    ("the step's", "the app's"),
    ("a step's", "the app's"),
    ("Alembic for step 5.", "Alembic for this project."),
    ("Alembic for step 6.", "Alembic for this project."),
    ("Alembic for step 7.", "Alembic for this project."),
    ("Alembic for step 8.", "Alembic for this project."),
    (", as in step 6;", ";"),
    ("not step 6's threading.Lock", "not a threading.Lock"),
    ("The URLs of step 6 keep working.", "A sync engine's URLs work here too."),
    ("keep step 5's rules", "keep their open rules"),
    ("before step 6", "before passwords"),
    ("Tasks, users and posts, as step 4 has them.", "Tasks, users and posts: the first schema."),
    # The tutorial's repository is the project's folder.
    ("from the repository root", "from the project's folder"),
    ("in the repository root", "in the project's folder"),
    ("makes one in the repository", "makes one in the project"),
)
# The word `grep -ri step` finds; nothing of an exported project may hold it.
TUTORIAL_WORD = re.compile("step", re.IGNORECASE)


def in_own_words(text: str) -> str:
    """`text` with `PROSE`'s phrases replaced, wherever its lines break them."""
    for phrase, replacement in PROSE:
        pattern = r"\s+".join(re.escape(word) for word in phrase.split(" "))
        text = re.sub(pattern, functools.partial(broken_like, replacement=replacement), text)
    return text


def broken_like(match: re.Match[str], replacement: str) -> str:
    """`replacement`, with the line break of the text it replaces (at about the same place)."""
    found = match[0]
    newline = re.search(r"\n[ \t]*(?:#[ \t]*)?", found)
    spaces = [i for i, c in enumerate(replacement) if c == " "]
    if not newline or not spaces:
        return replacement
    at = min(spaces, key=lambda i: abs(i / len(replacement) - newline.start() / len(found)))
    return replacement[:at] + newline[0] + replacement[at + 1 :]


def renamed(name: str) -> str:
    """A name of the suite in the project's words: `step` -> `project`, `catalog` -> `contract`."""
    if name == "catalog":
        return "contract"
    return name.replace("step", "project").replace("Step", "Project").replace("STEP", "PROJECT")


def docstring_positions(text: str) -> dict[tuple[int, int], bool]:
    """Where each docstring starts, (line, column) as tokenize counts them, and whether
    the code could do without it (it is not its body's only statement)."""
    positions = {}
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                alone = len(node.body) == 1 and not isinstance(node, ast.Module)
                positions[(first.lineno, first.col_offset)] = not alone
    return positions


def docstring_in_own_words(token: str) -> str | None:
    """The docstring without its paragraphs that still name a step (None: none is left)."""
    quotes = token[:3] if token[:3] in ('"""', "'''") else token[:1]
    body = token[len(quotes) : -len(quotes)]
    closing = re.search(r"\n[ \t]*$", body)
    kept = [
        paragraph
        for paragraph in re.split(r"\n[ \t]*\n", in_own_words(body))
        if not TUTORIAL_WORD.search(paragraph)
    ]
    if not kept:
        return None
    text = "\n\n".join(kept).strip()
    if "\n" in text and closing:
        text += closing[0]
    return f"{quotes}{text}{quotes}"


def string_in_own_words(token: str) -> str:
    """A string of the suite's code: a fixture's name (`"step"`) renamed, and an
    f-string's expressions (Python 3.11 tokenizes an f-string as one token)."""
    if re.fullmatch(r"""(["'])[\w.]+\1""", token):
        return token[0] + renamed(token[1:-1]) + token[0]
    token = in_own_words(token)
    if "f" not in token.split('"')[0].split("'")[0].lower():
        return token
    return re.sub(
        r"\{[^{}]*\}",
        lambda field: re.sub(
            r"\w*(?:step|Step|STEP|catalog)\w*", lambda m: renamed(m[0]), field[0]
        ),
        token,
    )


def code_in_own_words(text: str, where: str, *, rename: bool) -> str:
    """`text` (Python) with its comments and docstrings in the project's words, and, with
    `rename`, its names too (the suite's `step` fixture is the project's `project`).

    A comment block that still names a step is left out, and so is the paragraph of a
    docstring that does; a string that is not prose keeps its words (the final check
    names it, if it names a step).
    """
    lines = text.splitlines(keepends=True)
    docstrings = docstring_positions(text)
    edits: list[tuple[tuple[int, int], tuple[int, int], str]] = []
    comments: list[tokenize.TokenInfo] = []
    dropped_docstrings: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.NAME and rename and renamed(token.string) != token.string:
            edits.append((token.start, token.end, renamed(token.string)))
        elif token.type == tokenize.STRING and token.start in docstrings:
            own = docstring_in_own_words(token.string)
            if own is not None:
                edits.append((token.start, token.end, own))
            elif docstrings[token.start]:
                dropped_docstrings |= set(range(token.start[0], token.end[0] + 1))
            else:
                raise ExportError(
                    f"{where}:{token.start[0]}: a docstring that only speaks of steps"
                )
        elif token.type == tokenize.STRING and rename:
            edits.append((token.start, token.end, string_in_own_words(token.string)))
        elif token.type == tokenize.COMMENT:
            comments.append(token)
    dropped = dropped_comment_lines(comments, edits) | dropped_docstrings
    for (row, col), (end_row, end_col), new in sorted(edits, reverse=True):
        if row in dropped:
            continue
        # A token over several lines becomes one line of text; the others stay, empty,
        # so that every line keeps its number.
        joined = lines[row - 1][:col] + new + lines[end_row - 1][end_col:]
        lines[row - 1 : end_row] = [joined] + [""] * (end_row - row)
    return "".join(line for number, line in enumerate(lines, 1) if number not in dropped)


def dropped_comment_lines(
    comments: list[tokenize.TokenInfo], edits: list[tuple[tuple[int, int], tuple[int, int], str]]
) -> set[int]:
    """The lines of the comment blocks that name a step (after `PROSE`); a trailing comment
    that does is cut from its line (an edit)."""
    blocks: list[list[tokenize.TokenInfo]] = []
    for comment in comments:
        if comment.line[: comment.start[1]].strip():  # after code on its line
            own = in_own_words(comment.string)
            if TUTORIAL_WORD.search(own):
                start = (comment.start[0], len(comment.line[: comment.start[1]].rstrip()))
                edits.append((start, comment.end, ""))
            elif own != comment.string:
                edits.append((comment.start, comment.end, own))
            continue
        if blocks and blocks[-1][-1].start[0] == comment.start[0] - 1:
            blocks[-1].append(comment)
        else:
            blocks.append([comment])
    dropped: set[int] = set()
    for block in blocks:
        own = [in_own_words(comment.string) for comment in block]
        if any(TUTORIAL_WORD.search(line) for line in own):
            dropped |= {comment.start[0] for comment in block}
            continue
        for comment, line in zip(block, own, strict=True):
            if line != comment.string:
                edits.append((comment.start, comment.end, line))
    return dropped


def ini_in_own_words(text: str) -> str:
    """An ini file's (or a Dockerfile's) `#` comment blocks, as `code_in_own_words` does."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    block: list[str] = []
    for line in [*lines, ""]:
        if line.lstrip().startswith("#"):
            block.append(in_own_words(line))
            continue
        if not any(TUTORIAL_WORD.search(comment) for comment in block):
            out += block
        block = []
        out.append(line)
    return "".join(out)


def leftover_words(dest: Path) -> list[str]:
    """Every line of the project that still names a step: `grep -rin step`."""
    found = []
    for path in sorted(dest.rglob("*")):
        if not path.is_file() or ".venv" in path.parts:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if TUTORIAL_WORD.search(line):
                found.append(f"{path.relative_to(dest)}:{number}: {line.strip()}")
    return found


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


def python_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def app_rewrites(step: Step, path: Path, title: str) -> list[Rewrite]:
    """How one file of the step's folder leaves the repository, as the app called `title`."""
    rewrites = [
        Rewrite(f"steps.{step.package}", "app", required=False),
        Rewrite(f"steps/{step.package}", "app", required=False),
        Rewrite("from the repository root", "from the project's folder", required=False),
        Rewrite("From the repository root", "From the project's folder", required=False),
        Rewrite("in the repository's root", "in the project's folder", required=False),
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
    if relative == "main.py":
        rewrites += [
            # The app is the learner's: its name, not the lesson it came from.
            Rewrite(r'^"""Step \d+: .*$', f'"""{title}.', regex=True),
            Rewrite(f"title={python_string(step.title)},", f"title={python_string(title)},"),
            Rewrite(r'^ *summary="Step \d+: [^"\n]*",\n', "", regex=True),
            Rewrite(r'"step": \d+, ', "", regex=True),
            Rewrite("def welcome() -> dict[str, str | int]:", "def welcome() -> dict[str, str]:"),
        ]
    if relative == "Dockerfile":
        # The image's build context is the project's folder, where app/ holds the plumbing.
        rewrites += [
            Rewrite(
                "COPY shared/__init__.py shared/\nCOPY shared/plumbing/ shared/plumbing/\n"
                "COPY steps/__init__.py steps/\n",
                "",
            ),
            Rewrite(" and shared/plumbing/ too", " too"),
            Rewrite(" and build its docs (make lock writes both).", "."),
        ]
    if relative == "compose.yaml":
        rewrites.append(Rewrite("context: ../..", "context: .."))
    if relative in ("Dockerfile", "compose.yaml"):
        rewrites.append(Rewrite("tutorial-api", project_name(title)))
    if relative == "database.py" and step.offers("migrations"):
        rewrites.append(Rewrite("alembic -c steps/{", "alembic -c {"))
    if relative == "alembic.ini":
        # env.py imports `app`, which lives one folder up from alembic.ini.
        rewrites.append(
            Rewrite("prepend_sys_path = %(here)s/../..", "prepend_sys_path = %(here)s/..")
        )
    return rewrites


def copy_app(step: Step, app_dir: Path, title: str) -> set[str]:
    """The step's folder as `app/`, with shared/plumbing/ as `app/plumbing/`.

    Returns the names the tests import from shared/ that are the app's: the
    plumbing package (its modules are the app's copy from now on).
    """
    shutil.copytree(step.path, app_dir, ignore=COPIED)
    uses_plumbing = False
    for path in sorted(app_dir.rglob("*")):
        if path.suffix not in TEXT_SUFFIXES and path.name not in TEXT_NAMES:
            continue
        source = step.path / path.relative_to(app_dir)
        text = source.read_text()
        where = f"steps/{step.package}/{source.relative_to(step.path)}"
        for rewrite in app_rewrites(step, source, title):
            text = rewrite.apply(text, where)
        # The docs' section markers (`# --8<-- [start:models]`) mean nothing here;
        # without them, two blank lines are enough.
        text = re.sub(r"^ *# --8<-- \[(start|end):\w+\]\n", "", text, flags=re.MULTILINE)
        text = re.sub(r"\n{4,}", "\n\n\n", text).rstrip("\n") + "\n"
        if re.search(r"^from shared\.(?!plumbing\b)", text, flags=re.MULTILINE):
            raise ExportError(f"{source}: a step takes only its plumbing from shared/")
        uses_plumbing |= bool(re.search(r"^from shared\.plumbing\b", text, flags=re.MULTILINE))
        dots = "." * len(path.relative_to(app_dir).parts)  # main.py: 1, routers/users.py: 2
        text = re.sub(r"^from shared\.plumbing\b", f"from {dots}plumbing", text, flags=re.MULTILINE)
        path.write_text(in_the_projects_words(one_block_of_relative_imports(text), where))
    if not uses_plumbing:
        return set()
    copy_plumbing(app_dir / "plumbing")
    return {"plumbing"}


def in_the_projects_words(text: str, where: str) -> str:
    """An app file's comments and docstrings, without the tutorial's steps."""
    if where.endswith(".py"):
        return code_in_own_words(text, where, rename=False)
    if where.endswith((".ini", ".yaml", "Dockerfile")):
        return ini_in_own_words(text)
    return text


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
    for path in folder.glob("*.py"):
        path.write_text(in_the_projects_words(path.read_text(), f"shared/plumbing/{path.name}"))


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
# The suite's own files, changed for a project whose app is its only one: it is
# judged by the contract of the features it offers (tests/support/contract.py),
# with no option that picks a step or another app, and its welcome names it.
SUITE_REWRITES = {
    "tests/support/migrations.py": [UPGRADE_COMMAND],
    "tests/conftest.py": [
        Rewrite("selected_steps(metafunc.config)", "[catalog.PROJECT]"),
        Rewrite('ids=[f"step{s.number:02d}" for s in steps]', "ids=[s.package for s in steps]"),
        Rewrite(
            'ids=[f"step{s.number:02d}-{backend}" for s, backend in pairs]',
            "ids=[backend for _, backend in pairs]",
        ),
    ],
    "tests/full/test_smoke.py": [
        Rewrite(
            """    # It serves the step asked for. An app written elsewhere, judged with --app,
    # names itself; a step number, if it gives one, is this step's (as the
    # welcome rule of tests/lesson/test_tasks.py says).
    if step.written_here:
        assert welcome["step"] == step.number
    else:
        assert welcome.get("step", step.number) == step.number, welcome
""",
            """    assert welcome["title"] == step.title
""",
        ),
    ],
}
# What the suite's conftest.py has for choosing steps and judging other apps.
CONFTEST_OPTIONS = ('"--step"', '"--app"', '"--app-dir"', '"--update-snapshots"')
CONFTEST_DEFINITIONS = (
    "selected_steps",
    "WHOLE_PROJECT_FIXTURES",
    "pytest_collection_modifyitems",
    "refuse_a_package_the_repository_shadows",
)
# The conftest.py of a project with one app, which its tests describe first.
CONFTEST_DOCSTRING = '''"""The fixtures of the contract tests, and how they choose what runs.

A test asks for the fixtures it needs: `client` (an HTTP client for the app,
whose lifespan has run), `app`, `database_url`, `server` (the app under a real
uvicorn). It states the features it needs with `@pytest.mark.requires("users")`,
and runs when the app offers all of them (tests/support/contract.py); a test of
the database runs once per backend: SQLite always, PostgreSQL with
`--backend=postgresql` and TEST_DATABASE_URL set.

Each test starts from an empty database (a file in a temporary folder, or a
PostgreSQL database) and the app bound to it through DATABASE_URL, exactly as
your shell configures it. Each worker imports the app once per backend and
empties its database before every test (see tests/support/databases.py): the
same guarantees as a new database and a new import per test, in a fraction of
the time.
"""
'''
PROJECT_ONLY = '''

def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the tests that have nothing to run on here (a PostgreSQL test without
    --backend=postgresql, a feature the app does not offer), rather than skip them."""
    kept, left_out = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        judged = callspec is not None and isinstance(callspec.params.get("step"), Step)
        about_the_app = "step" in getattr(item, "fixturenames", ())
        (kept if judged or not about_the_app else left_out).append(item)
    config.hook.pytest_deselected(items=left_out)
    items[:] = kept
'''
LINE_LENGTH = 100
# The suite's markers that name the tutorial, as an exported project declares them.
MARKERS = {
    "requires": "requires(*features): run only when the app offers all these features"
    " (tests/support/contract.py)",
    "taught": "taught(section): the section of the tutorial that teaches the rule",
    "real_hashing": "real_hashing: the app hashes passwords with its own Argon2 parameters"
    " (the other tests, with cheap ones)",
    "repository": "repository: needs the tutorial's own repository; left out here",
}


def definition_lines(node: ast.stmt, lines: list[str]) -> set[int]:
    """The lines of a statement, its decorators and the comment block right above it."""
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    while first > 1 and lines[first - 2].lstrip().startswith("#"):
        first -= 1
    return set(range(first, (node.end_lineno or node.lineno) + 1))


def defined_name(node: ast.stmt) -> str | None:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    return None


def without_lines(text: str, dropped: set[int]) -> str:
    kept = "".join(
        line for n, line in enumerate(text.splitlines(keepends=True), 1) if n not in dropped
    )
    return re.sub(r"\n{4,}", "\n\n\n", kept)


def without_definitions(text: str, names: Iterable[str], where: str) -> str:
    """`text` without its top-level definitions of `names`, each of which must be there."""
    lines = text.splitlines(keepends=True)
    wanted = set(names)
    nodes = [node for node in ast.parse(text).body if defined_name(node) in wanted]
    if missing := wanted - {defined_name(node) for node in nodes}:
        raise ExportError(f"{where}: expected {sorted(missing)}: update shared/export.py")
    return without_lines(text, set().union(*(definition_lines(n, lines) for n in nodes)))


def without_statements(text: str, function: str, naming: Iterable[str], where: str) -> str:
    """`text` without the statements of `function` that name any of `naming`, each of
    which one statement at least must name."""
    lines = text.splitlines(keepends=True)
    found = [n for n in ast.parse(text).body if defined_name(n) == function]
    if not found:
        raise ExportError(f"{where}: expected a function {function}: update shared/export.py")
    dropped: set[int] = set()
    unmatched = set(naming)
    for statement in found[0].body:
        source = ast.get_source_segment(text, statement) or ""
        if matched := {word for word in naming if word in source}:
            unmatched -= matched
            dropped |= definition_lines(statement, lines)
    if unmatched:
        raise ExportError(
            f"{where}: {function} names no {sorted(unmatched)}: update shared/export.py"
        )
    return without_lines(text, dropped)


def marked(node: ast.stmt, markers: Iterable[str]) -> bool:
    """Whether `node` is decorated with `@pytest.mark.<one of markers>` (called or not)."""
    for decorator in getattr(node, "decorator_list", []):
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute) and target.attr in markers:
            return True
    return False


def without_left_out_tests(text: str) -> str:
    """`text` without the tests an exported project leaves out (`LEFT_OUT`): they need
    the tutorial's repository, and would only be deselected there."""
    lines = text.splitlines(keepends=True)
    nodes = [node for node in ast.parse(text).body if marked(node, LEFT_OUT)]
    if not nodes:
        return text
    return without_lines(text, set().union(*(definition_lines(n, lines) for n in nodes)))


def prune_support(dest: Path) -> None:
    """Remove the helpers of tests/support/ that no test imports any more."""
    while True:
        support = {p.stem: p for p in (dest / "tests" / "support").glob("*.py")}
        imported = {
            module
            for path in dest.rglob("*.py")
            for module in imported_modules(path)
            if module.startswith("tests.support.")
        }
        unused = [
            path
            for name, path in support.items()
            if name != "__init__" and f"tests.support.{name}" not in imported
        ]
        if not unused:
            return
        for path in unused:
            path.unlink()


# The welcome test of a project: its app gives the title it was exported with.
WELCOME_TEST = '''def test_welcome_names_the_step(client: TestClient, step: Step) -> None:
    """GET / answers with the app's title (tests/support/contract.py)."""
    response = client.get("/")
    assert response.status_code == 200
    assert response.json()["title"] == step.title
'''
# The suite's tests that a project with one app has in a version of its own.
REPLACED_TESTS = {"tests/lesson/test_tasks.py": {"test_welcome_names_the_step": WELCOME_TEST}}


def with_definitions_replaced(text: str, replaced: dict[str, str], where: str) -> str:
    """`text` with each top-level definition named in `replaced` (which must be there),
    decorators included, in place of the suite's."""
    lines = text.splitlines(keepends=True)
    for node in reversed(ast.parse(text).body):
        if (name := defined_name(node)) in replaced:
            first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
            decorators = "".join(lines[first - 1 : node.lineno - 1])
            lines[first - 1 : node.end_lineno] = [decorators + replaced[name]]
    found = {defined_name(node) for node in ast.parse(text).body}
    if missing := set(replaced) - found:
        raise ExportError(f"{where}: expected {sorted(missing)}: update shared/export.py")
    return "".join(lines)


def conftest_of_the_project(text: str, where: str) -> str:
    text = without_definitions(text, CONFTEST_DEFINITIONS, where)
    text = without_statements(text, "pytest_addoption", CONFTEST_OPTIONS, where)
    text = without_statements(text, "pytest_configure", ["app_dir"], where)
    text = re.sub(r'^""".*?"""\n', CONFTEST_DOCSTRING, text, count=1, flags=re.DOTALL)
    return text + PROJECT_ONLY


def tidy(project: Path) -> None:
    """The tests as ruff formats them (a name grew), imports sorted, none unused; ruff runs
    from the project's folder, where `app` and `tests` are its own packages."""
    ruff = [sys.executable, "-m", "ruff"]
    settings = ["--isolated", "--no-cache", "--quiet", f"--line-length={LINE_LENGTH}", "tests"]
    for command in (["check", "--select=I,F401", "--fix"], ["format"]):
        result = subprocess.run(
            [*ruff, *command, *settings], cwd=project, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise ExportError(
                f"ruff {command[0]} on the tests failed:\n{result.stdout}{result.stderr}"
            )


# What only the tests of a feature need: a project whose app lacks the feature
# does not install it. The suite's helpers import these at their top; the export
# moves each import into the functions that use it, which no test of such a
# project calls.
FEATURE_ONLY = {
    "auth": (
        ("jwt", "pwdlib"),
        "Imported here, not at the top: a project whose app has no logins goes without it.",
    )
}


def names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def bound_by(statement: ast.stmt) -> set[str]:
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in statement.names}
    targets = getattr(statement, "targets", [])
    return {n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name)}


def imports_of(statement: ast.stmt) -> list[str]:
    if isinstance(statement, ast.Import):
        return [alias.name for alias in statement.names]
    if isinstance(statement, ast.ImportFrom) and statement.level == 0:
        return [statement.module or ""]
    return []


def deferring_imports(text: str, modules: Iterable[str], why: str, where: str) -> str:
    """`text` with its top-level imports of `modules`, and the top-level assignments that
    use them, moved into the functions that use them (`why` says why, above them)."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    tops = set(modules)
    deferred: list[ast.stmt] = []
    names: set[str] = set()
    for statement in tree.body:
        imported = {module.split(".")[0] for module in imports_of(statement)}
        uses = isinstance(statement, ast.Assign) and names_in(statement.value) & names
        if imported & tops or uses:
            deferred.append(statement)
            names |= bound_by(statement)
    insertions: dict[int, str] = {}
    for statement in tree.body:
        if statement in deferred or not names_in(statement) & names:
            continue
        if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            raise ExportError(
                f"{where}:{statement.lineno}: uses {sorted(names)} outside a function"
            )
        has_docstring = isinstance(statement.body[0], ast.Expr) and isinstance(
            getattr(statement.body[0], "value", None), ast.Constant
        )
        first = statement.body[1 if has_docstring and len(statement.body) > 1 else 0]
        needed = names_in(statement) & names
        while more := {n for s in deferred if bound_by(s) & needed for n in names_in(s) & names}:
            if more <= needed:
                break
            needed |= more
        block = "".join(
            "".join(lines[min(definition_lines(s, lines)) - 1 : s.end_lineno])
            for s in deferred
            if bound_by(s) & needed
        )
        indent = " " * first.col_offset
        insertions[first.lineno] = textwrap.indent(f"# {why}\n{block}\n", indent)
    if not deferred:
        return text
    dropped = set().union(*(definition_lines(s, lines) for s in deferred))
    out = []
    for number, line in enumerate(lines, 1):
        out.append(insertions.get(number, ""))
        if number not in dropped:
            out.append(line)
    return re.sub(r"\n{4,}", "\n\n\n", "".join(out))


def contract_module(step: Step, title: str) -> str:
    """tests/support/contract.py: the app the tests judge, and what it offers."""
    features = ", ".join(f'"{feature}"' for feature in sorted(step.features))
    every_feature = ", ".join(f'"{feature}"' for feature in sorted(catalog.FEATURES))
    return f'''"""The app these tests judge, and the features its contract has.

A test states the features it needs, `@pytest.mark.requires("users")`, and runs
when the app offers all of them (tests/conftest.py). When the app gains one of
FEATURES, add it to PROJECT's; when it loses one, take it out, and the tests of
what it no longer offers stop running.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The project's folder, where uvicorn, alembic and pytest run from.
ROOT = Path(__file__).resolve().parents[2]

# Every feature a test may require.
FEATURES = frozenset({{{every_feature}}})


@dataclass(frozen=True)
class Project:
    """The app under test: its title, what it offers, and where its code is."""

    title: str
    features: frozenset[str]
    package: str = "app"
    app: str = "{APP}"

    @property
    def app_ref(self) -> str:
        """What uvicorn is given: `{APP}`."""
        return self.app

    @property
    def module(self) -> str:
        return self.app.partition(":")[0]

    @property
    def import_root(self) -> str:
        """The package the app's modules live in."""
        return self.package

    @property
    def path(self) -> Path:
        """The app's folder."""
        return ROOT / self.package

    @property
    def alembic_ini(self) -> Path:
        return self.path / "alembic.ini"

    def offers(self, *features: str) -> bool:
        return set(features) <= self.features


PROJECT = Project(title={python_string(title)}, features=frozenset({{{features}}}))
'''


def copy_tests(step: Step, dest: Path, plumbing: set[str], title: str) -> list[Path]:
    """The contract tests and what they import, in the project's words; returns the copies.

    The suite's catalog of steps stays behind: tests/support/contract.py says
    what the one app of the project offers.
    """
    tests = contract_test_files(step)
    files = closure([TESTS_DIR / "conftest.py", *tests]) - {SHARED_DIR / "catalog.py"}
    support = {p.stem for p in files if p.parent == SHARED_DIR} - plumbing
    rewrites = module_rewrites(plumbing, support | {"catalog"})
    contract = dest / "tests" / "support" / "contract.py"
    contract.parent.mkdir(parents=True, exist_ok=True)
    contract.write_text(contract_module(step, title))
    copies = [contract]
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
        text = without_left_out_tests(text)
        text = with_definitions_replaced(text, REPLACED_TESTS.get(where, {}), where)
        if where == "tests/conftest.py":
            text = conftest_of_the_project(text, where)
        text = re.sub(r"^ *@pytest\.mark\.names_the_step\n", "", text, flags=re.MULTILINE)
        for feature, (modules, why) in FEATURE_ONLY.items():
            if not step.offers(feature):
                text = deferring_imports(text, modules, why, where)
        text = code_in_own_words(text, where, rename=True)
        target.write_text(f"# From the tutorial's {where}, judging this project's app.\n{text}")
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


def locked_packages(lock: str | None = None) -> list[Locked]:
    """The packages of `lock` (a lock's text; by default this repository's)."""
    packages: list[Locked] = []
    text = (ROOT / "requirements.lock").read_text() if lock is None else lock
    for line in text.splitlines():
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


def project_name(title: str) -> str:
    """The distribution's name for a title: `My API` -> `my-api`."""
    name = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return name or "my-api"


def marker_name(declaration: str) -> str:
    """`requires(*features): run only ...` -> `requires`."""
    return re.split(r"[(:]", declaration, maxsplit=1)[0]


def used_markers(tests: Iterable[Path]) -> list[str]:
    """The suite's marker declarations (pyproject.toml) that the copied tests use."""
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    text = "\n".join(path.read_text() for path in tests)
    return [
        MARKERS.get(marker_name(declaration), in_own_words(declaration))
        for declaration in options["ini_options"]["markers"]
        if re.search(rf"\bmark\.{marker_name(declaration)}\b", text)
    ]


def toml_list(items: Iterable[str], indent: str = "    ") -> str:
    return "[\n" + "".join(f"{indent}{toml_string(item)},\n" for item in items) + "]"


def toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def pyproject(title: str, runtime: list[str], dev: list[str], tests: list[Path]) -> str:
    markers = used_markers(tests)
    addopts = ["-rfE", "--strict-markers", "--backend=sqlite"]
    if expression := left_out({marker_name(m) for m in markers}):
        addopts += ["-m", expression]
    return f"""[project]
name = "{project_name(title)}"
version = "0.1.0"
description = {toml_string(title + ": a web API built with FastAPI and SQLAlchemy.")}
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

[tool.ruff]
line-length = {LINE_LENGTH}

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["."]
# The contract of what the app offers (tests/support/contract.py), judging app.main:app;
# --backend=postgresql with TEST_DATABASE_URL set adds PostgreSQL.
addopts = {toml_list(addopts)}
filterwarnings = ["error"]
markers = {toml_list(markers)}
"""


RUNTIME_LOCK_HEADER = (
    "# What the app needs to run, without what tests it: the packages\n"
    "# app/Dockerfile installs, from requirements.lock's lines.\n"
)


def lock_header() -> str:
    return (
        "# Every package this project needs, from the tutorial's own lock:\n"
        "#   .venv/bin/pip install --no-deps --require-hashes -r requirements.lock\n"
    )


def readme(step: Step, title: str) -> str:
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
    return f"""# {title}

A web API built with FastAPI and SQLAlchemy, begun with the FastAPI + SQLAlchemy
tutorial's `make export`. The code in `app/` is yours to change; `tests/` holds
its contract tests, judging `app.main:app`: `tests/support/contract.py` says
which features the app offers, and so which tests run.

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

`tests/lesson/` is the contract, run in-process on a database per test:
`.venv/bin/pytest tests/lesson` runs it alone, in a fraction of the time.
`tests/full/` adds what only real processes show (uvicorn started, raced,
restarted, killed), which takes most of the rest.

A test of your own goes in a new file in `tests/`: a function that asks for the
`client` fixture gets an HTTP client for the app, on a database emptied for it
(`tests/conftest.py` has the other fixtures).

{where}
{admin}"""


def gitignore(step: Step) -> str:
    text = ".venv/\n__pycache__/\n*.py[cod]\n.pytest_cache/\n"
    if step.offers("persistent"):
        text += "# the SQLite database (and the signing key); the folder itself is kept\ndata/*\n"
        text += "!data/.gitkeep\n"
    if step.offers("production"):
        text += "# settings and secrets, which app/settings.py reads from a .env file\n.env\n"
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


def check_own_words(dest: Path) -> None:
    """Nothing in the project names a step: `grep -ri step` finds nothing."""
    if leftover := leftover_words(dest):
        raise ExportError(
            "these lines still speak of steps (add a phrase to PROSE in shared/export.py,"
            " or say it otherwise where it comes from):\n  " + "\n  ".join(leftover)
        )


def export(step: Step, dest: Path, title: str | None = None) -> None:
    """Write `step` as a project in `dest`, a new or empty folder, as the app called
    `title` (by default the folder's name); on failure, leave the folder as it was."""
    refuse_non_empty(dest)
    existed = dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        write_project(step, dest, title or dest.resolve().name)
    except BaseException:
        shutil.rmtree(dest)
        if existed:
            dest.mkdir()
        raise


def write_project(step: Step, dest: Path, title: str) -> None:
    plumbing = copy_app(step, dest / "app", title)
    tests = copy_tests(step, dest, plumbing, title)
    tidy(dest)
    prune_support(dest)
    tests = [path for path in tests if path.exists()]
    runtime, dev = dependencies(step, dest / "app", tests)
    (dest / "pyproject.toml").write_text(pyproject(title, runtime, dev, tests))
    (dest / "requirements.lock").write_text(lock_header() + locked_subset(runtime + dev))
    if (dest / "app" / "Dockerfile").exists():
        # What the image installs: the app's packages, without the tests'.
        runtime_lock = RUNTIME_LOCK_HEADER + locked_subset(runtime)
        (dest / "requirements-runtime.lock").write_text(runtime_lock)
    (dest / "README.md").write_text(readme(step, title))
    (dest / ".gitignore").write_text(gitignore(step))
    if step.offers("persistent"):
        (dest / "data").mkdir()
        (dest / "data" / ".gitkeep").touch()
    check_standalone(dest)
    check_own_words(dest)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.export", description=__doc__)
    parser.add_argument("step", type=int)
    parser.add_argument("dest", type=Path, help="an empty or new folder")
    parser.add_argument(
        "--name", help="the app's title, as its README and /docs show it (default: DEST's name)"
    )
    args = parser.parse_args(argv)
    try:
        step = catalog.get(args.step)
        export(step, args.dest, args.name)
    except (LookupError, ExportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    title = args.name or args.dest.resolve().name
    print(
        f"Step {step.number} ({step.title}) is now a project of its own in {args.dest},"
        f" the app called {title!r}."
    )
    print(f"Next: cd {args.dest}, then follow its README.md (set up, run, test).")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
