"""What a benchmark run is asked to do: its settings (from the command line), and a data set."""

from __future__ import annotations

from dataclasses import dataclass

from shared.bench import postgres, wrk


@dataclass(frozen=True)
class Settings:
    requests: int = 600
    concurrency: int = 16
    warmup: int = 100
    tasks: int = 1000
    users: int = 1000
    posts_per_user: int = 10
    # The lazy-vs-selectinload experiment: fewer users, many posts each.
    loading_users: int = 100
    loading_posts_per_user: int = 50
    batch_rows: int = 500
    # Sign-up and login on a step with passwords hash one (about 160 ms of
    # CPU): they are measured with fewer requests (one per connection),
    # after fewer warm-up ones.
    hashing_requests: int = 16
    hashing_warmup: int = 2
    # One hash and one token check, timed in this process (median of these).
    hash_samples: int = 10
    # The sync-vs-async A/B: requests per row, and the connections it is run at.
    async_requests: int = 500
    async_concurrency: tuple[int, ...] = (16, 64)
    # The server the A/B creates a throw-away database on ("": SQLite only).
    postgres_url: str = postgres.DEFAULT_URL
    # The A/B's two steps (sync, async); by default from the catalog. (6, 6)
    # runs step 6 against itself: the noise of the method.
    sync_async_steps: tuple[int, ...] = ()
    steps: tuple[int, ...] = ()
    # "wrk" when it is installed, else "python" (driver.py); see wrk.py.
    generator: str = "wrk" if wrk.found() else "python"
    # The A/B experiments (journal, writers, pool, loading, profile, commits,
    # sync vs async): minutes more, so only when asked for.
    experiments: bool = False
    # Each one-process server on a core of its own, the load on the others
    # (cores.py); False: every process wherever the system puts it.
    pin: bool = True


@dataclass(frozen=True)
class DataSet:
    tasks: int
    users: int
    posts_per_user: int
