"""The benchmark's chart: each endpoint's server CPU per request as a multiple of the ceiling's."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from shared.bench.targets import CPU_RATIO_TARGETS, hashes

STEP_COLOURS = ("#3f51b5", "#009688", "#ff9800", "#e91e63", "#795548", "#607d8b")
LABEL_WIDTH = 250
BAR_WIDTH = 420
ROW_HEIGHT = 24
TOP = 40


def svg_chart(results: dict[str, Any]) -> str:
    """Each endpoint's server CPU per request as a multiple of the ceiling's: one bar per row.

    Rows that hash a password are left out: hundreds of times the ceiling,
    they would flatten every other bar.
    """
    rows = [row for row in results["endpoints"] if not hashes(row)]
    scale_max = max(10, math.ceil(max((r["cpu_ratio"] for r in rows), default=1) / 2) * 2)
    width = LABEL_WIDTH + BAR_WIDTH + 70
    height = TOP + ROW_HEIGHT * len(rows) + 30

    def x(ratio: float) -> float:
        return LABEL_WIDTH + BAR_WIDTH * ratio / scale_max

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        '<text x="10" y="22" font-weight="bold" fill="#222">Server CPU per request, as a '
        "multiple of the ceiling's (a constant FastAPI answer) in the same rounds</text>",
    ]
    for tick in range(0, scale_max + 1, 2):
        parts.append(
            f'<line x1="{x(tick):.1f}" y1="{TOP - 6}" x2="{x(tick):.1f}" '
            f'y2="{height - 24}" stroke="#ddd"/>'
            f'<text x="{x(tick):.1f}" y="{height - 8}" text-anchor="middle" fill="#555">'
            f"{tick}</text>"
        )
    for most in sorted(set(CPU_RATIO_TARGETS.values())):
        parts.append(
            f'<line x1="{x(most):.1f}" y1="{TOP - 6}" x2="{x(most):.1f}" y2="{height - 24}" '
            'stroke="#c62828" stroke-dasharray="4 3"/>'
        )
    for index, row in enumerate(rows):
        y = TOP + index * ROW_HEIGHT
        colour = STEP_COLOURS[row["step"] % len(STEP_COLOURS)]
        label = escape(f"step {row['step']}  {row['endpoint']}")
        bar_end = x(row["cpu_ratio"])
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end" fill="#222">{label}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{bar_end - LABEL_WIDTH:.1f}"'
            f' height="{ROW_HEIGHT - 6}" fill="{colour}"/>'
            f'<text x="{bar_end + 5:.1f}" y="{y + 15}" fill="#222">'
            f"{row['cpu_ratio']:.1f}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
