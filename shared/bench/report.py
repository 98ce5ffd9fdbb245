"""The benchmark's outputs: the targets it checks, a Markdown table, an SVG chart."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from shared import catalog

USER_WITH_POSTS_MIN_RATIO = 0.15
CREATE_USER_MAX_P99_MS = 200.0


def _rows(results: dict[str, Any], endpoint: str) -> list[dict[str, Any]]:
    return [row for row in results["endpoints"] if row["endpoint"] == endpoint]


def _offers(row: dict[str, Any], feature: str) -> bool:
    return catalog.get(row["step"]).offers(feature)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with what was measured and whether it is met."""
    checks = []
    for row in _rows(results, "GET /users/{id}"):
        if _offers(row, "posts"):
            checks.append(
                {
                    "target": f"step {row['step']}: GET /users/{{id}} with "
                    f"{results['settings']['posts_per_user']} posts reaches "
                    f">= {USER_WITH_POSTS_MIN_RATIO} x the ceiling's req/s",
                    "measured": f"{row['ceiling_ratio']:.3f} x",
                    "met": row["ceiling_ratio"] >= USER_WITH_POSTS_MIN_RATIO and not row["errors"],
                }
            )
    for row in _rows(results, "POST /users"):
        checks.append(
            {
                "target": f"step {row['step']}: POST /users p99 <= "
                f"{CREATE_USER_MAX_P99_MS:.0f} ms with 0 errors",
                "measured": f"p99 {row['p99_ms']:.1f} ms, {row['errors']} errors",
                "met": row["p99_ms"] <= CREATE_USER_MAX_P99_MS and not row["errors"],
            }
        )
    checks.extend(_statements_checks(results))
    every_row = [*results["endpoints"], *results["experiments"]["journal"]]
    every_row += results["experiments"]["loading"]
    errors = sum(row["errors"] for row in every_row)
    checks.append({"target": "no request fails", "measured": f"{errors} errors", "met": not errors})
    return checks


def _statements_checks(results: dict[str, Any]) -> list[dict[str, Any]]:
    few = {row["step"]: row for row in _rows(results, "GET /users/{id}")}
    checks = []
    for row in results["experiments"]["loading"]:
        if row["variant"] != "as shipped" or row["step"] not in few:
            continue
        at_few = few[row["step"]]["statements_per_request"]
        at_many = row["statements_per_request"]
        checks.append(
            {
                "target": f"step {row['step']}: SQL statements per GET /users/{{id}} "
                "do not grow with the number of posts",
                "measured": f"{at_few} with {results['settings']['posts_per_user']} posts, "
                f"{at_many} with {row['posts_per_user']}",
                "met": at_many <= at_few,
            }
        )
    return checks


# -- Markdown ---------------------------------------------------------------------


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _load_cells(row: dict[str, Any]) -> list[Any]:
    return [
        f"{row['requests_per_s']:.0f}",
        f"{row['ceiling_ratio']:.2f}",
        f"{row['p50_ms']:.1f}",
        f"{row['p99_ms']:.1f}",
        row["errors"],
        row["statements_per_request"],
    ]


LOAD_HEADER = ["req/s", "x ceiling", "p50 ms", "p99 ms", "errors", "SQL/request"]


def markdown(results: dict[str, Any]) -> str:
    settings, meta = results["settings"], results["meta"]
    experiments = results["experiments"]
    parts = [
        f"Measured {meta['date']} on {meta['machine']} with Python {meta['python']}: "
        f"{settings['requests']} requests per row at {settings['concurrency']} concurrent "
        f"connections, one uvicorn worker, SQLite. Ceiling (a FastAPI endpoint returning a "
        f"constant): {results['ceiling']['requests_per_s']:.0f} req/s. "
        f"The whole run took {meta['seconds']:.0f} s.",
        "**Targets**",
        _table(
            ["target", "measured", "met"],
            [
                [c["target"], c["measured"], "yes" if c["met"] else "**no**"]
                for c in targets(results)
            ],
        ),
        f"**Endpoints** ({settings['users']} users with {settings['posts_per_user']} posts each "
        f"where the step has posts, {settings['tasks']} tasks)",
        _table(
            ["step", "endpoint", *LOAD_HEADER],
            [[r["step"], f"`{r['endpoint']}`", *_load_cells(r)] for r in results["endpoints"]],
        ),
    ]
    if experiments["loading"]:
        parts += [
            f"**Loading posts** (`GET /users/{{id}}`, {settings['loading_posts_per_user']} posts "
            "per user)",
            _table(
                ["step", "posts loaded", *LOAD_HEADER],
                [[r["step"], r["variant"], *_load_cells(r)] for r in experiments["loading"]],
            ),
        ]
    parts += [
        "**SQLite journal** (the writes)",
        _table(
            ["step", "endpoint", "set-up", *LOAD_HEADER],
            [
                [r["step"], f"`{r['endpoint']}`", r["variant"], *_load_cells(r)]
                for r in experiments["journal"]
            ],
        ),
        "**Commits** (inserting tasks with the step's own engine, no HTTP)",
        _table(
            ["step", "variant", "rows", "seconds", "rows/s"],
            [
                [r["step"], r["variant"], r["rows"], r["seconds"], f"{r['rows_per_s']:.0f}"]
                for r in experiments["batch"]
            ],
        ),
    ]
    return "\n\n".join(parts) + "\n"


# -- SVG chart ----------------------------------------------------------------------

STEP_COLOURS = ("#3f51b5", "#009688", "#ff9800", "#e91e63", "#795548", "#607d8b")
LABEL_WIDTH = 250
BAR_WIDTH = 420
ROW_HEIGHT = 24
TOP = 40


def svg_chart(results: dict[str, Any]) -> str:
    """Each endpoint's req/s as a fraction of the ceiling: one bar per step and endpoint."""
    rows = results["endpoints"]
    scale_max = max(1.0, math.ceil(max((r["ceiling_ratio"] for r in rows), default=1) * 4) / 4)
    width = LABEL_WIDTH + BAR_WIDTH + 70
    height = TOP + ROW_HEIGHT * len(rows) + 30

    def x(ratio: float) -> float:
        return LABEL_WIDTH + BAR_WIDTH * ratio / scale_max

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="10" y="22" font-weight="bold" fill="#222">Requests per second, as a fraction '
        f"of a constant FastAPI endpoint ({results['ceiling']['requests_per_s']:.0f} req/s)</text>",
    ]
    for tick in range(int(scale_max * 4) + 1):
        ratio = tick / 4
        parts.append(
            f'<line x1="{x(ratio):.1f}" y1="{TOP - 6}" x2="{x(ratio):.1f}" '
            f'y2="{height - 24}" stroke="#ddd"/>'
            f'<text x="{x(ratio):.1f}" y="{height - 8}" text-anchor="middle" fill="#555">'
            f"{ratio:.2f}</text>"
        )
    target_x = x(USER_WITH_POSTS_MIN_RATIO)
    parts.append(
        f'<line x1="{target_x:.1f}" y1="{TOP - 6}" x2="{target_x:.1f}" y2="{height - 24}" '
        'stroke="#c62828" stroke-dasharray="4 3"/>'
    )
    for index, row in enumerate(rows):
        y = TOP + index * ROW_HEIGHT
        colour = STEP_COLOURS[row["step"] % len(STEP_COLOURS)]
        label = escape(f"step {row['step']}  {row['endpoint']}")
        bar_end = x(row["ceiling_ratio"])
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end" fill="#222">{label}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{bar_end - LABEL_WIDTH:.1f}"'
            f' height="{ROW_HEIGHT - 6}" fill="{colour}"/>'
            f'<text x="{bar_end + 5:.1f}" y="{y + 15}" fill="#222">'
            f"{row['ceiling_ratio']:.2f}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
