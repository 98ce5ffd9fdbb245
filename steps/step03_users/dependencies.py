"""What the routers share: ids in paths, pages of lists, errors of any body."""

from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel, Field

# The largest integer SQLite and PostgreSQL (BIGINT) can store.
MAX_ID = 2**63 - 1

# An id in the path: a larger one would overflow the database's integer (a 500).
PathId = Annotated[int, Path(gt=0, le=MAX_ID)]


class Page(BaseModel):
    """`?skip=&limit=` of every list: out of range is a 422, never silently clamped."""

    skip: int = Field(default=0, ge=0, le=MAX_ID)
    limit: int = Field(default=100, ge=1, le=100)


PageQuery = Annotated[Page, Query()]
