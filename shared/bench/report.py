"""The benchmark's Markdown report: the targets, then one table per measurement."""

from __future__ import annotations

from typing import Any

from shared.bench.targets import HASHING, endpoint_rows, generator, offers, placement, targets

# -- Markdown ---------------------------------------------------------------------


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _ceiling_cells(row: dict[str, Any]) -> list[str]:
    """The ceiling's CPU measured in the row's rounds, and the ratio of the two CPU figures."""
    if "ceiling_cpu_us" not in row:
        return ["-", "-"]
    return [str(row["ceiling_cpu_us"]), f"{row['cpu_ratio']:.1f}"]


def _load_cells(row: dict[str, Any]) -> list[Any]:
    return [
        str(row["server_cpu_us"]),
        *_ceiling_cells(row),
        f"{row['requests_per_s']:.0f}",
        f"{row['p50_ms']:.1f}",
        f"{row['p99_ms']:.1f}",
        row["errors"],
        row["statements_per_request"],
        f"{row['driver_cpu_us']:.0f}",
    ]


LOAD_HEADER = [
    "server CPU us/request",
    "ceiling CPU us/request",
    "x ceiling CPU",
    "req/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "SQL/request",
    "driver CPU us/request",
]

# The experiments' tables, in the order the report shows them.
EXPERIMENT_TITLES = {
    "hops": "**Thread-pool hops** (the ceiling's constant, served in four ways by hops.py)",
    "gc": (
        "**Garbage collector** (its youngest generation collected every 7,000 allocations, "
        "as shared/plumbing/collector.py sets it, or every 700, as Python ships it: "
        "`python-gc`; the ceiling's row with Python's thresholds is divided by the ceiling "
        "as served)"
    ),
    "writers": "**Writers** (how concurrent writers wait for SQLite's one write lock)",
    "pool": "**Connection pool** (a connection per thread, or SQLAlchemy's default 5 + 10)",
    "loading": "**Loading posts** (`GET /users/{{id}}`, {posts} posts per user)",
    "journal": "**SQLite journal** (the writes)",
}


# What a row of step 0 serves, by experiment.
APP_OF = {"hops": "hops app", "gc": "ceiling"}


def _experiment(results: dict[str, Any], name: str) -> list[str]:
    rows = results["experiments"].get(name, [])
    if not rows:
        return []
    title = EXPERIMENT_TITLES[name].format(posts=results["settings"]["loading_posts_per_user"])
    if name != "hops":
        title += f", on step {rows[0]['step']}"
    return [
        title + _load_by(results),
        _table(
            ["step", "endpoint", "variant", *LOAD_HEADER],
            [
                [r["step"] or APP_OF[name], f"`{r['endpoint']}`", r["variant"], *_load_cells(r)]
                for r in rows
            ],
        ),
    ]


def _before_after(results: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """Server CPU and SQL per request, before and after: neither depends on the load generator.

    The baseline's ratios were taken against another constant endpoint, and
    its latencies with the Python driver: neither is compared here.
    """
    before = {(r["step"], r["endpoint"]): r for r in baseline["endpoints"]}
    rows = []
    for row in results["endpoints"]:
        old = before.get((row["step"], row["endpoint"]))
        if old is None:
            continue
        rows.append(
            [
                row["step"],
                f"`{row['endpoint']}`",
                f"{old['server_cpu_us']:.0f} → {row['server_cpu_us']}",
                f"{old['statements_per_request']} → {row['statements_per_request']}",
            ]
        )
    return [
        "**Before and after the write queue** (the baseline run, "
        f"{baseline['meta']['date']}, measured the code before it with this benchmark's "
        "earlier version)",
        _table(["step", "endpoint", "server CPU us/request", "SQL/request"], rows),
    ]


def _profile(results: dict[str, Any]) -> list[str]:
    rows = results["experiments"].get("profile", [])
    skipped = results.get("skipped", {})
    if not rows and ("experiments" in skipped or not results["settings"].get("experiments")):
        return []
    if not rows:
        return [
            "**Where the CPU goes**: not measured "
            "(the profiler reads Linux's per-thread CPU clocks)."
        ]
    parts = [part for part in rows[0]["parts_us"] if any(r["parts_us"][part] for r in rows)]
    header = ["part of the request path", *(_profile_column(r) for r in rows)]
    body = [[part, *(f"{r['parts_us'][part]:.0f}" for r in rows)] for part in parts]
    body.append(["**sum**", *(f"**{sum(r['parts_us'].values()):.0f}**" for r in rows)])
    body.append(
        ["server CPU measured (profiler included)", *(f"{r['server_cpu_us']:.0f}" for r in rows)]
    )
    return [
        "**Where the CPU goes** (server CPU per request in us, by part of the request path, "
        "from the benchmark's sampling profiler, `shared/bench/profile.py`)",
        _table(header, body),
    ]


def _profile_column(row: dict[str, Any]) -> str:
    where = "ceiling" if row["step"] == 0 else f"step {row['step']}"
    return f"{where} `{row['endpoint']}`"


def _load_by(results: dict[str, Any]) -> str:
    return f"; load: {generator(results)}"


def markdown(results: dict[str, Any], baseline: dict[str, Any] | None = None) -> str:
    settings, meta = results["settings"], results["meta"]
    ceiling = results["ceiling"]
    parts = [
        f"Measured {meta['date']} on {meta['machine']} with Python {meta['python']}: "
        f"{settings['requests']} requests per row at {settings['concurrency']} concurrent "
        f"connections, one uvicorn worker, SQLite; load: {generator(results)}; "
        f"{placement(results)}. "
        "The ceiling is a FastAPI app of its own (one `def` route returning a constant "
        "JSON object of 189 bytes, no middleware, `shared/bench/ceiling.py`), served as the "
        "steps are; each round of a row is followed by as many requests to it, and the row "
        "prints the ceiling's CPU per request in those rounds beside its own: its ratio is "
        "the one divided by the other. Over the whole run the ceiling cost "
        f"{ceiling['server_cpu_us']:.0f} us of server CPU per request "
        f"({ceiling['requests_per_s']:.0f} req/s). The whole run took {meta['seconds']:.0f} s.",
        "**Targets**",
        _table(
            ["target", "measured", "met"],
            [
                [c["target"], c["measured"], "yes" if c["met"] else "**no**"]
                for c in targets(results, baseline)
            ],
        ),
        f"**Endpoints** ({settings['users']} users with {settings['posts_per_user']} posts each "
        f"where the step has posts, {settings['tasks']} tasks{_load_by(results)})",
        _table(
            ["step", "endpoint", *LOAD_HEADER],
            [[r["step"], f"`{r['endpoint']}`", *_load_cells(r)] for r in results["endpoints"]],
        ),
    ]
    parts += _auth(results)
    if baseline is not None:
        parts += _before_after(results, baseline)
    parts += _profile(results)
    for name in EXPERIMENT_TITLES:
        parts += _experiment(results, name)
    batch = results["experiments"].get("batch", [])
    if batch:
        parts += [
            "**Commits** (inserting tasks with the step's own engine, no HTTP)",
            _table(
                ["step", "variant", "rows", "seconds", "rows/s"],
                [
                    [r["step"], r["variant"], r["rows"], r["seconds"], f"{r['rows_per_s']:.0f}"]
                    for r in batch
                ],
            ),
        ]
    parts += _sync_async(results)
    parts += _workers(results)
    parts += _limiter(results)
    parts += [f"Left out: {what}: {why}." for what, why in results.get("skipped", {}).items()]
    return "\n\n".join(parts) + "\n"


def _row(results: dict[str, Any], step: int, endpoint: str) -> dict[str, Any] | None:
    return next((r for r in endpoint_rows(results, endpoint) if r["step"] == step), None)


def _auth(results: dict[str, Any]) -> list[str]:
    """What a hash and a token check cost, in-process and as the served step's CPU."""
    costs = results.get("auth")
    if not costs:
        return []
    body = [
        [
            f"one Argon2id hash ({costs['parameters']}), in-process, median of {costs['samples']}",
            f"{costs['hash_ms']:.0f} ms wall, {costs['hash_cpu_ms']:.0f} ms CPU",
        ],
        [
            "one password check (what a login does), in-process",
            f"{costs['verify_ms']:.0f} ms wall, {costs['verify_cpu_ms']:.0f} ms CPU",
        ],
        ["one token check (PyJWT, HS256), in-process", f"{costs['token_check_us']:.0f} us"],
    ]
    for step in sorted({r["step"] for r in results["endpoints"] if offers(r, "auth")}):
        me = _row(results, step, "GET /users/me")
        anonymous = _row(results, step, "GET /users/{own id}")
        if me and anonymous:
            body.append(
                [
                    f"step {step}: `GET /users/me` with a token minus `GET /users/{{own id}}` "
                    "without (server CPU)",
                    f"{me['server_cpu_us'] - anonymous['server_cpu_us']:.0f} us "
                    f"({me['server_cpu_us']:.0f} - {anonymous['server_cpu_us']:.0f})",
                ]
            )
        for endpoint in HASHING:
            row = _row(results, step, endpoint)
            if row:
                body.append(
                    [
                        f"step {step}: `{endpoint}` at {results['settings']['concurrency']} "
                        "connections (server CPU, req/s, p50, p99)",
                        f"{row['server_cpu_us'] / 1000:.0f} ms, {row['requests_per_s']:.1f} req/s, "
                        f"{row['p50_ms']:.0f} ms, {row['p99_ms']:.0f} ms",
                    ]
                )
    return [
        "**Passwords and tokens** (sign-up and login hash a password; "
        f"{results['settings']['hashing_requests']} requests per row)",
        _table(["what", "cost"], body),
    ]


def _sync_async(results: dict[str, Any]) -> list[str]:
    rows = results["experiments"].get("async", [])
    if not rows:
        return []
    sides = list(dict.fromkeys(r["variant"] for r in rows))
    grouped: dict[tuple[str, int, str], dict[str, dict[str, Any]]] = {}
    for r in rows:
        grouped.setdefault((r["backend"], r["concurrency"], r["endpoint"]), {})[r["variant"]] = r

    def cells(by_side: dict[str, dict[str, Any]], key: str, spec: str) -> str:
        return " / ".join(format(by_side[side][key], spec) for side in sides if side in by_side)

    body = [
        [
            backend,
            concurrency,
            f"`{endpoint}`",
            cells(by_side, "server_cpu_us", "d"),
            cells(by_side, "ceiling_cpu_us", "d"),
            cells(by_side, "cpu_ratio", ".1f"),
            cells(by_side, "requests_per_s", ".0f"),
            cells(by_side, "p50_ms", ".1f"),
            cells(by_side, "p99_ms", ".1f"),
            cells(by_side, "errors", "d"),
            cells(by_side, "statements_per_request", "g"),
        ]
        for (backend, concurrency, endpoint), by_side in grouped.items()
    ]
    return [
        f"**Sync or async** ({' / '.join(sides)}: the same endpoints on the same database, "
        f"side by side, taking turns{_load_by(results)})",
        _table(
            # The load columns but the driver's CPU (two drivers share one cell).
            ["database", "connections", "endpoint", *LOAD_HEADER[:-1]],
            body,
        ),
    ]


def _workers(results: dict[str, Any]) -> list[str]:
    rows = results["experiments"].get("workers", [])
    if not rows:
        return []
    return [
        f"**Step {rows[0]['step']} with one and two workers** (PostgreSQL, "
        f"{rows[0]['concurrency']} connections, the two servers taking turns; server CPU is the "
        f"sum over the server's processes, supervisor included{_load_by(results)})",
        _table(
            ["workers", "endpoint", "server CPU us/request", "req/s", "p50 ms", "p99 ms", "errors"],
            [
                [
                    r["workers"],
                    f"`{r['endpoint']}`",
                    f"{r['server_cpu_us']:.0f}",
                    f"{r['requests_per_s']:.0f}",
                    f"{r['p50_ms']:.1f}",
                    f"{r['p99_ms']:.1f}",
                    r["errors"],
                ]
                for r in rows
            ],
        ),
    ]


def _limiter(results: dict[str, Any]) -> list[str]:
    rows = results["experiments"].get("limiter", [])
    if not rows:
        return []
    limiter = results["limiter"]
    body = [
        [
            f"`{r['endpoint']}`, {r['variant']}",
            f"{r['server_cpu_us'] / 1000:.1f}",
            f"{r['requests_per_s']:.1f}",
            f"{r['p50_ms']:.0f}",
            f"{r['p99_ms']:.0f}",
            r["errors"],
        ]
        for r in rows
    ]
    costs = results.get("auth") or {}
    hash_note = (
        f"; one Argon2id check in-process: {costs['verify_ms']:.0f} ms wall"
        if "verify_ms" in costs
        else ""
    )
    return [
        f"**The login limit's cost** (step {rows[0]['step']}, one worker, PostgreSQL, "
        f"{rows[0]['concurrency']} connections, taking turns; one Redis round trip of the "
        f"limiter's pipeline, in-process: {limiter['redis_round_trip_us']:.0f} us{hash_note}"
        f"{_load_by(results)})",
        _table(["login", "server CPU ms/request", "req/s", "p50 ms", "p99 ms", "errors"], body),
    ]
