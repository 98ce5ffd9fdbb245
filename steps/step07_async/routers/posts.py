"""The posts routes: HTTP in and out; the database work is in crud.

A post is created and listed under its author, `/users/{user_id}/posts`, and
read, changed and deleted on its own, `/posts/{post_id}`.
"""

from fastapi import APIRouter, status

from .. import crud
from ..database import SessionDep
from ..dependencies import PageQuery, PathId, get_post_or_404, get_user_or_404
from ..models import Post
from ..permissions import FORBIDDEN, PostYouMayChange, UserYouMayChange
from ..schemas import Message, PostCreate, PostRead, PostUpdate
from ..security import UNAUTHORIZED

router = APIRouter(tags=["posts"])

NOT_FOUND = {status.HTTP_404_NOT_FOUND: {"model": Message, "description": "Post not found"}}
USER_NOT_FOUND = {status.HTTP_404_NOT_FOUND: {"model": Message, "description": "User not found"}}


@router.post(
    "/users/{user_id}/posts",  # noqa: FAST003 (UserYouMayChange reads user_id)
    status_code=status.HTTP_201_CREATED,
    response_model=PostRead,
    responses={**UNAUTHORIZED, **FORBIDDEN, **USER_NOT_FOUND},
)
async def create_post(author: UserYouMayChange, post_in: PostCreate, db: SessionDep) -> Post:
    return await crud.create_post(db, author, post_in)


@router.get("/users/{user_id}/posts", response_model=list[PostRead], responses=USER_NOT_FOUND)
async def list_posts_of_user(
    user_id: PathId, db: SessionDep, page: PageQuery
) -> list[crud.PostRow]:
    author = await get_user_or_404(db, user_id)
    return await crud.list_posts(db, page.skip, page.limit, author=author)


@router.get("/posts", response_model=list[PostRead])
async def list_posts(db: SessionDep, page: PageQuery) -> list[crud.PostRow]:
    return await crud.list_posts(db, page.skip, page.limit)


@router.get("/posts/{post_id}", response_model=PostRead, responses=NOT_FOUND)
async def read_post(post_id: PathId, db: SessionDep) -> Post:
    return await get_post_or_404(db, post_id)


@router.patch(
    "/posts/{post_id}",  # noqa: FAST003 (PostYouMayChange reads post_id)
    response_model=PostRead,
    responses={**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND},
)
async def update_post(post: PostYouMayChange, post_in: PostUpdate, db: SessionDep) -> Post:
    return await crud.update_post(db, post, post_in)


@router.delete(
    "/posts/{post_id}",  # noqa: FAST003 (PostYouMayChange reads post_id)
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND},
)
async def delete_post(post: PostYouMayChange, db: SessionDep) -> None:
    await crud.delete_post(db, post)
