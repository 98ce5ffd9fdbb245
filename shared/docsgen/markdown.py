"""Small Markdown building blocks shared by the generators."""

from __future__ import annotations

import re
import textwrap


def fence(content: str, info: str) -> str:
    """A fenced code block that the content's own backticks cannot close."""
    longest = max((len(run) for run in re.findall(r"`+", content)), default=0)
    marks = "`" * max(3, longest + 1)
    return f"{marks} {info}\n{content.rstrip()}\n{marks}\n"


def tabs(labelled: list[tuple[str, str]]) -> str:
    """Material content tabs (pymdownx.tabbed): one per (label, Markdown)."""
    return "\n".join(
        f'=== "{label}"\n\n{textwrap.indent(body.rstrip(), "    ")}\n' for label, body in labelled
    )


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines) + "\n"


def code(text: str) -> str:
    """Inline code for a table cell (a pipe would end the cell)."""
    return "`" + text.replace("|", "\\|") + "`"
