"""The lists of steps outside the docs site, written from the catalog: `make lists`.

    python -m shared.lists           rewrite them from shared/catalog.py
    python -m shared.lists --check   exit 1, naming each list that differs

- mkdocs.yml: the "Steps" section of the nav, a page per step;
- README.md: the table of steps, between its two marker comments, with each
  step's summary as its app declares it (`FastAPI(summary=...)` in main.py).

The docs site's own lists (the home page's table and diagram, the testing
page's table) are written when the site is built (shared/docsgen/). Standard
library only, like the catalog.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable

from shared.catalog import ROOT, STEPS, Step

README_START = "<!-- the steps: written by `make lists` from shared/catalog.py -->"
README_END = "<!-- end of the steps -->"
NAV_STEPS = re.compile(r"^(  - Steps:\n)((?:      - .*\n)*)", flags=re.MULTILINE)


def summary_of(step: Step) -> str:
    """`FastAPI(summary="Step 3: users next to tasks, ...")` in main.py, without its prefix."""
    tree = ast.parse((step.path / "main.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "summary":
            text = ast.literal_eval(node.value)
            text = re.sub(r"^Step \d+: ", "", text).rstrip(".")
            return text[:1].upper() + text[1:]
    raise LookupError(f"steps/{step.package}/main.py: FastAPI(...) has no summary=")


def readme_table() -> str:
    rows = [
        f"| {step.number} | [`steps/{step.package}`](steps/{step.package}) | {summary_of(step)} |"
        for step in STEPS
    ]
    return "\n".join(["| Step | Folder | What it adds |", "| --- | --- | --- |", *rows])


def with_readme_table(text: str) -> str:
    start, end = text.index(README_START) + len(README_START), text.index(README_END)
    return f"{text[:start]}\n{readme_table()}\n{text[end:]}"


def with_nav(text: str) -> str:
    pages = "".join(f"      - steps/{step.package}.md\n" for step in STEPS)
    if not NAV_STEPS.search(text):
        raise LookupError('mkdocs.yml: no "  - Steps:" section in the nav')
    return NAV_STEPS.sub(lambda match: match[1] + pages, text, count=1)


LISTS: dict[str, Callable[[str], str]] = {"README.md": with_readme_table, "mkdocs.yml": with_nav}


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    differing = []
    for name, rewrite in LISTS.items():
        path = ROOT / name
        text = path.read_text()
        wanted = rewrite(text)
        if wanted != text:
            differing.append(name)
            if not check:
                path.write_text(wanted)
    if check and differing:
        print(f"not as the catalog says: {', '.join(differing)}; run: make lists")
        return 1
    print(f"{'wrote' if differing else 'unchanged'}: {', '.join(differing or LISTS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
