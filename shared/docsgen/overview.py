"""The path of steps, for the home page: a table of links and a Mermaid diagram."""

from __future__ import annotations

from itertools import pairwise

from shared.catalog import STEPS
from shared.docsgen.markdown import table
from shared.examples import new_features


def steps_table() -> str:
    rows = [
        [
            str(step.number),
            f"[{step.title}](steps/{step.package}.md)",
            f"`steps/{step.package}`",
            ", ".join(f"`{feature}`" for feature in sorted(new_features(step))),
        ]
        for step in STEPS
    ]
    return table(["Step", "Page", "Folder", "Adds"], rows)


def steps_diagram() -> str:
    nodes = [f'    step{step.number}["{step.number}. {step.title}"]' for step in STEPS]
    edges = [f"    step{a.number} --> step{b.number}" for a, b in pairwise(STEPS)]
    return "``` mermaid\nflowchart LR\n" + "\n".join(nodes + edges) + "\n```\n"
