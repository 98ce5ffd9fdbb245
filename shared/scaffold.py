"""Make step N+1 from step N: `make new-step NAME=production TITLE="Ready for production"`.

    python -m shared.scaffold NAME TITLE

It writes everything a step needs to exist, so that the diff from the step
before is the lesson from the first minute, and prints what is left for a
human (the lesson itself):

- steps/stepNN_NAME/: the newest step's folder, its imports and paths made the
  new step's, its welcome naming the new number, without section markers (a
  page includes what it explains: add them where it does);
- its catalog entry, with the features of the step before;
- docs/steps/stepNN_NAME.md: the eight parts every step page has, the
  generated ones (code, diff, run, try) already included;
- then `make new-step` runs `make lists`: the docs nav and the README's table.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

from shared import catalog, practice
from shared.catalog import ROOT, STEPS_DIR

TEXT_SUFFIXES = frozenset({".py", ".ini", ".mako", ".toml", ".yaml", ".yml", ".md"})
MARKER = re.compile(r"^ *# --8<-- \[(start|end):\w+\]\n", flags=re.MULTILINE)
NAME = re.compile(r"[a-z][a-z0-9_]*")

PAGE = """# Step {n}: {title}

One paragraph: what this step adds to step {previous}, and why a real app needs it.

## What you will learn

- ...

## The code

--8<-- "{package}/code.md"

## What changed since the previous step

--8<-- "{package}/diff.md"

## Run it

--8<-- "{package}/run.md"

## Try it

--8<-- "{package}/try.md"

## Why it is built this way

## Common errors

## Exercise

What to add, and how to check it: `make check STEP={n} EXERCISE=<name>`.

??? success "Solution"
    ...
"""

CHECKLIST = """Step {n} ({package}) is made from step {previous}. Left for you:

1. The lesson: change steps/{package}/ by one idea. Keep the files you do not
   change byte-identical to step {previous}'s, so the page's diff is the lesson.
   Its app's summary= (main.py) is the README's description: `make lists`.
2. A new feature? Add it to FEATURES and to this step's entry in
   shared/catalog.py, and test it: tests/lesson/ for what HTTP shows (in-process),
   tests/full/ for what needs real servers, each with @pytest.mark.requires("...").
3. The page, docs/steps/{package}.md: every part that says "...".
4. A checked exercise: an entry in shared/exercises.py, its checker in
   tests/tutorial/test_exercises.py, its solution in docs/exercises/<name>.patch.
5. The OpenAPI snapshot, once the API is what you want:
   .venv/bin/python -m pytest tests/tutorial/test_openapi_snapshot.py --step {n} --update-snapshots
6. make test STEP={n}   (100 % branch coverage of the step's folder)
   make check STEP={n} APP=steps.{package}.main:app   (every rule passes)
"""


def copy_step(previous: catalog.Step, package: str, number: int, title: str) -> Path:
    folder = STEPS_DIR / package
    shutil.copytree(previous.path, folder, ignore=practice.COPIED)
    for path in folder.rglob("*"):
        if not path.is_file() or path.suffix not in TEXT_SUFFIXES:
            continue
        text = path.read_text()
        changed = text.replace(f"steps.{previous.package}", f"steps.{package}")
        changed = changed.replace(f"steps/{previous.package}", f"steps/{package}")
        changed = MARKER.sub("", changed)
        if path.name == "main.py":
            changed = changed.replace(f'"step": {previous.number},', f'"step": {number},')
            changed = changed.replace(f'"""Step {previous.number}: ', f'"""Step {number}: ', 1)
            changed = changed.replace(f'title="{previous.title}"', f"title={json.dumps(title)}")
            changed = changed.replace(
                f'summary="Step {previous.number}: ', f'summary="Step {number}: '
            )
        if changed != text:
            path.write_text(changed)
    return folder


def add_to_catalog(number: int, package: str, title: str, features: frozenset[str]) -> None:
    path = ROOT / "shared" / "catalog.py"
    text = path.read_text()
    entry = (
        "    _step(\n"
        + "".join(
            f"        {value!r},\n" for value in (number, package, title, *sorted(features))
        ).replace(f"        {number!r},", f"        {number},")
        + "    ),\n"
    )
    end = text.index("\n)\n", text.index("STEPS: tuple[Step, ...] = ("))
    path.write_text(text[: end + 1] + entry + text[end + 1 :])


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not NAME.fullmatch(argv[0]) or not argv[1].strip():
        print('usage: make new-step NAME=lowercase_name TITLE="What it adds"')
        return 2
    name, title = argv[0], argv[1].strip()
    previous = catalog.latest()
    number = previous.number + 1
    package = f"step{number:02d}_{name}"
    if (STEPS_DIR / package).exists():
        print(f"steps/{package} already exists")
        return 2
    copy_step(previous, package, number, title)
    add_to_catalog(number, package, title, previous.features)
    page = ROOT / "docs" / "steps" / f"{package}.md"
    page.write_text(PAGE.format(n=number, previous=previous.number, title=title, package=package))
    print(f"steps/{package}/, its catalog entry and docs/steps/{package}.md are written.")
    print(CHECKLIST.format(n=number, previous=previous.number, package=package))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
