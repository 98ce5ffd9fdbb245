"""What the routers share: ids in paths, pages of lists, errors of any body, users, posts."""

from typing import Annotated

from fastapi import HTTPException, Path, Query, status
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from . import crud
from .models import Post, User

# The largest integer SQLite and PostgreSQL (BIGINT) can store.
MAX_ID = 2**63 - 1

# An id in the path: a larger one would overflow the database's integer (a 500).
PathId = Annotated[int, Path(gt=0, le=MAX_ID)]


class Page(BaseModel):
    """`?skip=&limit=` of every list: out of range is a 422, never silently clamped."""

    skip: int = Field(default=0, ge=0, le=MAX_ID)
    limit: int = Field(default=100, ge=1, le=100)


PageQuery = Annotated[Page, Query()]


# Both routers look a user up: /users/{user_id} and /users/{user_id}/posts.
async def get_user_or_404(db: AsyncSession, user_id: int, *, with_posts: bool = False) -> User:
    user = await crud.get_user(db, user_id, with_posts=with_posts)
    if user is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="User not found")
    return user


# The posts router and the permissions look a post up.
async def get_post_or_404(db: AsyncSession, post_id: int) -> Post:
    post = await crud.get_post(db, post_id)
    if post is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Post not found")
    return post
