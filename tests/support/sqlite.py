"""Open the SQLite file behind a test's DATABASE_URL directly, as an admin would."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import make_url


def path_of(database_url: str) -> Path:
    database = make_url(database_url).database
    assert database, f"not a SQLite file URL: {database_url}"
    return Path(database)


@contextmanager
def connect(database_url: str) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection: committed, then closed, on exit.

    (`with sqlite3.connect(...)` alone commits but never closes, which
    Python 3.13 reports as an unclosed database.)
    """
    connection = sqlite3.connect(path_of(database_url))
    try:
        with connection:
            yield connection
    finally:
        connection.close()
