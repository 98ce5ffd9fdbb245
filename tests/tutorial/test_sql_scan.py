"""No query in steps/ is built by formatting strings.

An AST scan of every step, and the scan's own tests.
"""

import ast
from pathlib import Path

import pytest

from shared.catalog import STEPS_DIR

# Calls that send their first argument to the database as SQL.
SQL_SINKS = {"text", "exec_driver_sql", "execute", "executescript", "executemany"}


def formatted(node: ast.expr) -> bool:
    """An f-string, `"..." % x`, `"...".format(x)` or `"..." + x`."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return not (isinstance(node.left, ast.Constant) and isinstance(node.right, ast.Constant))
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    )


def called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def sql_built_from_strings(source: str) -> list[int]:
    """Lines where a formatted string is passed to a call that runs SQL."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and called_name(node) in SQL_SINKS
        and node.args
        and formatted(node.args[0])
    ]


@pytest.mark.parametrize(
    "source",
    [
        "db.execute(text(f\"SELECT * FROM users WHERE name = '{name}'\"))",
        "conn.exec_driver_sql('DELETE FROM tasks WHERE id = %s' % task_id)",
        "cursor.execute(\"SELECT * FROM posts WHERE title = '{}'\".format(title))",
        "text('SELECT * FROM users WHERE id = ' + user_id)",
    ],
)
def test_the_scan_finds_sql_built_from_strings(source: str) -> None:
    assert sql_built_from_strings(source) == [1]


@pytest.mark.parametrize(
    "source",
    [
        'db.execute(text("SELECT * FROM users WHERE name = :name"), {"name": name})',
        'cursor.execute("PRAGMA foreign_keys=ON")',
        "db.execute(select(User).where(User.username == username))",
    ],
)
def test_the_scan_accepts_bound_parameters(source: str) -> None:
    assert sql_built_from_strings(source) == []


def test_no_query_in_the_steps_is_built_from_strings() -> None:
    sources = sorted(STEPS_DIR.rglob("*.py"))
    assert sources, f"no Python files under {STEPS_DIR}"
    found = {
        str(path.relative_to(STEPS_DIR)): lines
        for path in sources
        if (lines := sql_built_from_strings(Path(path).read_text()))
    }
    assert found == {}, f"SQL built by formatting strings (use bound parameters): {found}"
