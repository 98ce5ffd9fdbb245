"""The reference tables: every step's API from its OpenAPI, and the Makefile's targets."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from shared.catalog import STEPS, Step
from shared.docsgen.markdown import code, table

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
# The Makefile documents its targets in lines like `#   make run STEP=2   serve step 2`.
MAKE_HELP = re.compile(r"^#   (make\b.*?)\s{2,}(\S.*)$")


def routes(openapi: dict) -> list[list[str]]:
    rows = []
    for path, operations in openapi["paths"].items():
        for method in HTTP_METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            codes = sorted(operation["responses"])
            success = [c for c in codes if c.startswith("2")]
            errors = [c for c in codes if not c.startswith("2")]
            rows.append(
                [
                    f"**{method.upper()}**",
                    code(path),
                    operation.get("summary", ""),
                    ", ".join(success),
                    ", ".join(errors) or "-",
                ]
            )
    return rows


def api_section(step: Step) -> str:
    openapi = importlib.import_module(step.module).app.openapi()
    header = ["Method", "Path", "What it does", "Success", "Errors"]
    return (
        f"### Step {step.number}: {step.title}\n\n"
        f"[The step's page](steps/{step.package}.md) · `{step.app_ref}`\n\n"
        + table(header, routes(openapi))
    )


def api_page() -> str:
    """Needs the steps' apps imported already (see `requests.capture`)."""
    return "\n".join(api_section(step) for step in STEPS)


def make_page(makefile: Path) -> str:
    found = [MAKE_HELP.match(line) for line in makefile.read_text().splitlines()]
    rows = [[code(match[1]), match[2]] for match in found if match]
    return table(["Command", "What it does"], rows)
