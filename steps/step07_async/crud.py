"""Database access: every query of the app, and nothing about HTTP."""

from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from .models import Post, Task, User
from .schemas import PostCreate, PostUpdate, TaskCreate, UserCreate, UserUpdate

# The lists of tasks and posts answer with rows of the columns their response
# model reads, not with ORM objects: the model reads a row's attributes as it
# would an object's, and SQLAlchemy skips building an object per row (identity
# map, change tracking) that nothing will change; what that saves is on the
# benchmark page. A field added to TaskRead or PostRead is added to its select too.
TaskRow = Row[int, str, str, bool]  # id, title, description, completed
PostRow = Row[int, str, str, int, datetime]  # id, title, content, user_id, date_posted


# A user with its posts, loaded now in the same query (a LEFT OUTER JOIN):
# one user is one query, however many posts. User.posts is lazy="raise", so
# this is the only way they are ever loaded: asyncio cannot load them lazily
# while the response is built. For a list of users, selectinload(User.posts)
# would add one query for all their posts.
# Built once, with a bindparam for the id: SQLAlchemy caches the SQL of a
# statement, but building the statement and the key it is cached under would
# be Python work repeated by every call (see the benchmark page).
USER_WITH_POSTS = select(User).options(joinedload(User.posts)).where(User.id == bindparam("id"))


class DuplicateError(Exception):
    """A value that must be unique (`field`: username or email) belongs to another user."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} is already taken")
        self.field = field


async def get_task(db: AsyncSession, task_id: int) -> Task | None:
    return await db.get(Task, task_id)


async def list_tasks(db: AsyncSession, skip: int, limit: int) -> list[TaskRow]:
    columns = select(Task.id, Task.title, Task.description, Task.completed)
    statement = columns.order_by(Task.id).offset(skip).limit(limit)
    return list(await db.execute(statement))


async def create_task(db: AsyncSession, task_in: TaskCreate) -> Task:
    task = Task(**task_in.model_dump())
    db.add(task)
    await db.commit()  # on disk before the 201 is sent
    await db.refresh(task)
    return task


async def replace_task(db: AsyncSession, task: Task, task_in: TaskCreate) -> Task:
    for field, value in task_in.model_dump().items():
        setattr(task, field, value)
    await db.commit()
    await db.refresh(task)
    return task


async def delete_task(db: AsyncSession, task: Task) -> None:
    await db.delete(task)
    await db.commit()


async def get_user(db: AsyncSession, user_id: int, *, with_posts: bool = False) -> User | None:
    if not with_posts:
        return await db.get(User, user_id)
    # The joined rows repeat the user: unique() makes them one User.
    return (await db.scalars(USER_WITH_POSTS, {"id": user_id})).unique().one_or_none()


async def get_user_by_username(db: AsyncSession, username: str) -> User | None:
    return await db.scalar(select(User).where(User.username == username))


async def list_users(db: AsyncSession, skip: int, limit: int) -> list[User]:
    statement = select(User).order_by(User.id).offset(skip).limit(limit)
    return list(await db.scalars(statement))


# The passwords themselves never reach this module: only their hashes.
PASSWORDS = {"password", "current_password"}


async def create_user(db: AsyncSession, user_in: UserCreate, password_hash: str) -> User:
    values = user_in.model_dump(exclude=PASSWORDS)
    await _raise_if_taken(db, values)
    user = User(**values, password_hash=password_hash)
    db.add(user)
    await _commit_unique(db, values)
    await db.refresh(user)
    return user


async def update_user(
    db: AsyncSession, user: User, user_in: UserUpdate, password_hash: str | None = None
) -> User:
    changes = user_in.model_dump(exclude_unset=True, exclude=PASSWORDS)
    if password_hash is not None:
        changes["password_hash"] = password_hash
    await _raise_if_taken(db, changes, user.id)
    for field, value in changes.items():
        setattr(user, field, value)
    await _commit_unique(db, changes, user.id)
    await db.refresh(user)
    return user


async def set_password_hash(db: AsyncSession, user: User, password_hash: str) -> None:
    user.password_hash = password_hash
    await db.commit()


async def delete_user(db: AsyncSession, user: User) -> None:
    await db.delete(user)
    await db.commit()


async def _taken_field(db: AsyncSession, values: dict[str, Any], user_id: int | None) -> str | None:
    """The first of username and email in `values` that a user other than `user_id` has."""
    for column in (User.username, User.email):
        if column.key not in values:
            continue
        owner_id = await db.scalar(select(User.id).where(column == values[column.key]))
        if owner_id is not None and owner_id != user_id:
            return column.key
    return None


async def _raise_if_taken(
    db: AsyncSession, values: dict[str, Any], user_id: int | None = None
) -> None:
    """Check first, for a friendly 409 in the common case."""
    field = await _taken_field(db, values, user_id)
    if field is not None:
        raise DuplicateError(field)


async def _commit_unique(
    db: AsyncSession, values: dict[str, Any], user_id: int | None = None
) -> None:
    """Commit; if a unique constraint refuses it, raise DuplicateError instead."""
    try:
        await db.commit()
    except IntegrityError as error:
        # Another request took the value between our check and this commit.
        # Roll back so that the session is usable again, then ask which field
        # it was (should that user be gone already, blame the username).
        await db.rollback()
        raise DuplicateError(await _taken_field(db, values, user_id) or "username") from error


async def get_post(db: AsyncSession, post_id: int) -> Post | None:
    return await db.get(Post, post_id)


async def list_posts(
    db: AsyncSession, skip: int, limit: int, *, author: User | None = None
) -> list[PostRow]:
    columns = select(Post.id, Post.title, Post.content, Post.user_id, Post.date_posted)
    statement = columns.order_by(Post.id).offset(skip).limit(limit)
    if author is not None:
        statement = statement.where(Post.user_id == author.id)
    return list(await db.execute(statement))


async def create_post(db: AsyncSession, author: User, post_in: PostCreate) -> Post:
    post = Post(**post_in.model_dump(), user_id=author.id)
    db.add(post)
    await db.commit()
    await db.refresh(post)
    return post


async def update_post(db: AsyncSession, post: Post, post_in: PostUpdate) -> Post:
    for field, value in post_in.model_dump(exclude_unset=True).items():
        setattr(post, field, value)
    await db.commit()
    await db.refresh(post)
    return post


async def delete_post(db: AsyncSession, post: Post) -> None:
    await db.delete(post)
    await db.commit()
