"""What a password hash and a token check cost, timed in this process.

The hash is pwdlib's recommended one, which step 6 uses (Argon2id); the
token is an HS256 JWT checked as step 6 checks it (signature, the required
claims). Both are timed one at a time, on an otherwise idle process, and the
median of the samples is kept.
"""

from __future__ import annotations

import secrets
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.bench.seed import PASSWORD


def _timed(work: Callable[[], object], samples: int) -> tuple[float, float]:
    """Median wall and CPU seconds (every thread of this process) of `work`."""
    walls, cpus = [], []
    for _ in range(max(1, samples)):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def password_hash() -> str:
    """One hash of the benchmark's password, as step 6 stores it."""
    from pwdlib import PasswordHash

    return PasswordHash.recommended().hash(PASSWORD)


def costs(samples: int) -> dict[str, Any]:
    import jwt
    from pwdlib import PasswordHash

    hasher = PasswordHash.recommended()
    stored = hasher.hash(PASSWORD)
    hash_wall, hash_cpu = _timed(lambda: hasher.hash(PASSWORD), samples)
    verify_wall, verify_cpu = _timed(lambda: hasher.verify(PASSWORD, stored), samples)
    key = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    token = jwt.encode(
        {"sub": "1", "iat": now, "exp": now + timedelta(minutes=30)}, key, algorithm="HS256"
    )

    def check() -> object:
        return jwt.decode(
            token, key, algorithms=["HS256"], options={"require": ["sub", "iat", "exp"]}
        )

    check_wall, _ = _timed(check, 200 * max(1, samples))
    return {
        "samples": max(1, samples),
        # $argon2id$v=19$m=65536,t=3,p=4$salt$hash: memory in KiB, passes, lanes.
        "parameters": stored.split("$")[3],
        "hash_ms": round(hash_wall * 1e3, 1),
        "hash_cpu_ms": round(hash_cpu * 1e3, 1),
        "verify_ms": round(verify_wall * 1e3, 1),
        "verify_cpu_ms": round(verify_cpu * 1e3, 1),
        "token_check_us": round(check_wall * 1e6, 1),
    }
