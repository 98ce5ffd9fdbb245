"""The contract page: every rule the suite judges, from the tests themselves.

A rule is one test function of `tests/lesson/` or `tests/full/`: its name as
`make check` prints it (its docstring's first line, or its name), the rest of
its docstring, the steps it runs against (the catalog's steps that offer the
features it requires) and the tier it belongs to. Nothing is typed twice: the
page cannot say a rule the suite does not check.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from shared.catalog import ROOT, STEPS

TIERS = {
    "lesson": "Tier lesson: the HTTP contract the steps teach (`make check STEP=N`)",
    "full": "Tier full: what only real servers and time can show (`make check STEP=N FULL=1`)",
}


def requires(decorators: list[ast.expr]) -> set[str]:
    """The features named by `pytest.mark.requires(...)` among these decorators or marks."""
    found: set[str] = set()
    for node in decorators:
        for call in ast.walk(node):
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "requires"
            ):
                found |= {arg.value for arg in call.args if isinstance(arg, ast.Constant)}
    return found


def module_marks(tree: ast.Module) -> list[ast.expr]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "pytestmark" for target in node.targets
        ):
            return [node.value]
    return []


# The words a test's name cannot spell: acronyms, and the apostrophes of possessives.
SPELLED = {
    "api": "API",
    "openapi": "OpenAPI",
    "json": "JSON",
    "jwt": "JWT",
    "url": "URL",
    "utc": "UTC",
    "sql": "SQL",
    "sqlite": "SQLite",
    "postgresql": "PostgreSQL",
    "sigkill": "SIGKILL",
    "sigterm": "SIGTERM",
    "www": "WWW",
    "uvicorn": "uvicorn",
    "argon2": "Argon2",
    "cors": "CORS",
    "redis": "Redis",
    "users": "users",
    "steps": "steps",
}
POSSESSIVE = re.compile(r"\b(user|step|post|task)s (own|posts|username|value|head|title|date)\b")


def rule_name(function: str) -> str:
    """A test's name as the rule a learner reads: `test_a_users_posts_are_listed_by_id`
    is "A user's posts are listed by id" (the why stays in its docstring)."""
    words = [SPELLED.get(word, word) for word in function.removeprefix("test_").split("_")]
    text = POSSESSIVE.sub(r"\1's \2", " ".join(words))
    return text[:1].upper() + text[1:]


def name_of(function: ast.FunctionDef) -> tuple[str, str]:
    """(the rule's name as `make check` prints it, the first line of its docstring)."""
    doc = inspect.cleandoc(ast.get_docstring(function) or "")
    return rule_name(function.name), doc.partition("\n")[0].strip()


def steps_of(features: set[str]) -> str:
    numbers = [step.number for step in STEPS if step.offers(*features)]
    if not numbers:
        return "no step yet"
    if numbers == list(range(numbers[0], numbers[-1] + 1)) and len(numbers) > 1:
        return f"steps {numbers[0]}-{numbers[-1]}"
    return "step " + ", ".join(map(str, numbers))


def topic_section(path: Path) -> str:
    tree = ast.parse(path.read_text())
    title = path.stem.removeprefix("test_").replace("_", " ").capitalize()
    intro = (ast.get_docstring(tree) or "").split("\n\n")[0].replace("\n", " ")
    marks = module_marks(tree)
    lines = [f"### {title}", "", intro, ""]
    for node in tree.body:
        if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
            continue
        rule, more = name_of(node)
        where = steps_of(requires(marks) | requires(node.decorator_list))
        detail = f" {more}" if more else ""
        lines.append(f"- **{rule}** ({where}).{detail}")
    return "\n".join(lines) + "\n"


def contract_page(tests: Path = ROOT / "tests") -> str:
    parts = []
    for tier, heading in TIERS.items():
        parts.append(f"## {heading}\n")
        parts += [topic_section(path) for path in sorted((tests / tier).glob("test_*.py"))]
    return "\n".join(parts)
