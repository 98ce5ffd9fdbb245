"""The testing page's table: which check runs against which step, from the catalog.

Each row names the features its tests require; a step's column is ticked when
the step offers them all, so a new step joins every row by its catalog entry.
"""

from __future__ import annotations

from shared.catalog import STEPS
from shared.docsgen.markdown import table

TIMES = "\N{MULTIPLICATION SIGN}"
# (what is checked, where, the features its tests require; None: all steps at once)
CHECKS: list[tuple[str, str, tuple[str, ...] | None]] = [
    (
        "Schemathesis, each operation: valid and invalid requests, no 5xx, declared status"
        " codes and schemas",
        "full/test_fuzz.py",
        ("tasks",),
    ),
    (
        "Schemathesis, stateful: create, then read, change and delete what was created",
        "full/test_fuzz.py",
        ("tasks",),
    ),
    (
        f"10 threads {TIMES} 10 `POST /tasks`, at once: 100 {TIMES} 201, exactly 100 tasks listed",
        "full/test_concurrency.py",
        ("tasks",),
    ),
    (
        'Mixed reads and writes from 8 clients at once: no 5xx, no "database is locked"',
        "full/test_concurrency.py",
        ("tasks",),
    ),
    (
        "20 sign-ups racing for one username (and one email): one 201, nineteen 409",
        "full/test_concurrency.py",
        ("users",),
    ),
    (
        "A restarted server on the same database: every record back",
        "full/test_durability.py",
        ("persistent",),
    ),
    (
        "SIGKILL right after the last 201: every acknowledged record back",
        "full/test_durability.py",
        ("persistent",),
    ),
    (
        "After the SIGKILL: `PRAGMA integrity_check` is `ok`, no broken foreign key",
        "full/test_durability.py",
        ("persistent",),
    ),
    (
        "Body over 1 MiB: 413 from uvicorn, before the body is read (declared or chunked)",
        "full/test_body_limit.py",
        ("tasks",),
    ),
    (
        "Malformed JSON, wrong content type, nesting 100,000 deep, NUL bytes, invalid UTF-8,"
        " lone surrogates, NaN, huge ids and query values: a 4xx with a `detail`, nothing stored",
        "lesson/test_hostile_input.py",
        ("tasks",),
    ),
    (
        "SQL-looking text (`'; DROP TABLE users; --`, `%`, `_`) stored and returned literally",
        "lesson/test_sql_safety.py",
        ("tasks",),
    ),
    (
        "No query in `steps/` built by formatting strings (an AST scan, and ruff's S608)",
        "tutorial/test_sql_scan.py",
        None,
    ),
    (
        "Fuzzing as an anonymous client and as a logged-in member; no password, hash or key"
        " in any answer",
        "full/test_fuzz.py",
        ("auth",),
    ),
    (
        f"The permission matrix: every route {TIMES} anonymous, member, owner, admin (the table in"
        " `shared/permissions.py`)",
        "lesson/test_permissions.py",
        ("auth",),
    ),
    (
        "Every bad token is a 401 with `WWW-Authenticate: Bearer` (missing, malformed, bad"
        " signature, `alg: none`, expired, user deleted)",
        "lesson/test_login.py",
        ("auth",),
    ),
    (
        "An unknown username takes about as long as a wrong password",
        "full/test_auth_processes.py",
        ("auth",),
    ),
    (
        "No relationship loads lazily; Argon2 never runs on the event loop; reads answered"
        " while logins hash",
        "full/test_async.py",
        ("async",),
    ),
    (
        "Health: `/health/live` 200; `/health/ready` 200, or 503 naming Redis when it refuses"
        " connections or never answers (in about 1 s); `X-Request-ID` on every answer; CORS only"
        " for `CORS_ORIGINS`; 429 with `Retry-After` past the login limits, no hash spent",
        "lesson/test_production.py",
        ("production",),
    ),
    (
        "Two workers on PostgreSQL share the login limit in Redis (a 429 from either); readiness"
        " 503 while the database is cut, 200 when it returns; SIGTERM during writes: every"
        " acknowledged write kept, exit 0; JSON logs: no secret, every line with its request id",
        "full/test_production_processes.py",
        ("production",),
    ),
]


def checks_table() -> str:
    header = ["check", "test file", *(str(step.number) for step in STEPS)]
    rows = []
    for what, where, features in CHECKS:
        if features is None:
            ticks = ["all steps at once", *([""] * (len(STEPS) - 1))]
        else:
            ticks = ["✓" if step.offers(*features) else "" for step in STEPS]
        rows.append([what, f"`tests/{where}`", *ticks])
    return table(header, rows)
