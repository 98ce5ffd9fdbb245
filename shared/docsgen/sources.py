"""A step's files as the page shows them: the code, and the diff from the step before."""

from __future__ import annotations

import difflib
from pathlib import Path, PurePosixPath

from pymdownx.snippets import SnippetPreprocessor

from shared.catalog import ROOT, Step, previous
from shared.docsgen.markdown import fence, tabs

LANGUAGES = {
    ".py": "python",
    ".ini": "ini",
    ".mako": "mako",
    ".toml": "toml",
    ".md": "markdown",
    ".yaml": "yaml",
}
# Files whose name, not suffix, says their language.
NAMED_LANGUAGES = {"Dockerfile": "dockerfile"}
SKIPPED_PARTS = {"__pycache__"}
SKIPPED_SUFFIXES = {".pyc", ".db"}


def step_files(step: Step) -> dict[PurePosixPath, Path]:
    """The step's files by their path inside the step folder, in a stable order."""
    found = {
        PurePosixPath(path.relative_to(step.path).as_posix()): path
        for path in step.path.rglob("*")
        if path.is_file()
        and not SKIPPED_PARTS & set(path.parts)
        and path.suffix not in SKIPPED_SUFFIXES
    }
    return dict(sorted(found.items(), key=lambda item: (len(item[0].parts), str(item[0]))))


def shown_lines(path: Path) -> list[str]:
    """The lines as a whole-file snippet shows them: without `--8<-- [start:x]` markers."""
    lines = path.read_text().splitlines()
    return [line for line in lines if not SnippetPreprocessor.RE_SNIPPET_SECTION.match(line)]


def repo_path(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def language(path: Path) -> str:
    return NAMED_LANGUAGES.get(path.name) or LANGUAGES.get(path.suffix, "text")


def changed_line_numbers(old: list[str], new: list[str]) -> list[int]:
    """1-based numbers of the lines of `new` that are not in `old`."""
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return [
        number + 1
        for tag, _, _, start, end in matcher.get_opcodes()
        if tag in ("replace", "insert")
        for number in range(start, end)
    ]


def code_page(step: Step) -> str:
    """A tab per non-empty file, included from steps/ when the site is built."""
    before = previous(step)
    old_files = step_files(before) if before else {}
    labelled = []
    for name, path in step_files(step).items():
        lines = shown_lines(path)
        if not lines:
            continue
        info = f'{language(path)} title="{repo_path(path)}" linenums="1"'
        if name in old_files:
            changed = changed_line_numbers(shown_lines(old_files[name]), lines)
            if changed:
                info += f' hl_lines="{" ".join(map(str, changed))}"'
        labelled.append((str(name), fence(f'--8<-- "{repo_path(path)}"', info)))
    note = "Highlighted lines are new or changed since the previous step.\n\n" if before else ""
    return note + tabs(labelled)


def diff_page(step: Step) -> str:
    """A `diff` block per file added, changed or removed since the previous step."""
    before = previous(step)
    if before is None:
        return "This is the first step: every file is new, and all of it is above.\n"
    old_files, new_files = step_files(before), step_files(step)
    blocks = []
    unchanged = []
    for name in sorted(old_files.keys() | new_files.keys(), key=str):
        old = shown_lines(old_files[name]) if name in old_files else []
        new = shown_lines(new_files[name]) if name in new_files else []
        if name in old_files and name in new_files and old == new:
            unchanged.append(f"`{name}`")
            continue
        old_label = repo_path(old_files[name]) if name in old_files else "/dev/null"
        new_label = repo_path(new_files[name]) if name in new_files else "/dev/null"
        diff = difflib.unified_diff(old, new, old_label, new_label, lineterm="")
        kind = "new file" if not old else "removed" if not new else "changed"
        text = "\n".join(diff) or f"(empty file: {new_label})"
        blocks.append(fence(text, f'diff title="{name} ({kind})"'))
    summary = (
        f"From `steps/{before.package}` to `steps/{step.package}`"
        f" ([step {before.number}]({before.package}.md)).\n\n"
    )
    if unchanged:
        summary += f"Unchanged: {', '.join(unchanged)}.\n\n"
    return summary + "\n".join(blocks)
