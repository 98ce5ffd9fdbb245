"""Database access: every query of the app, and nothing about HTTP."""

from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from .models import Post, Task, User
from .schemas import PostCreate, PostUpdate, TaskCreate, UserCreate, UserUpdate

# The lists of tasks and posts answer with rows of the columns their response
# model reads, not with ORM objects: the model reads a row's attributes as it
# would an object's, and SQLAlchemy skips building an object per row (identity
# map, change tracking) that nothing will change; what that saves is on the
# benchmark page. A field added to TaskRead or PostRead is added to its select too.
TaskRow = Row[int, str, str, bool]  # id, title, description, completed
PostRow = Row[int, str, str, int, datetime]  # id, title, content, user_id, date_posted


# A user with its posts, loaded now in the same query (a LEFT OUTER JOIN)
# rather than lazily while the response is built: one user is one query,
# however many posts. For a list of users, selectinload(User.posts) would add
# one query for all their posts; lazy loading, one per user (the N+1 problem).
# Built once, with a bindparam for the id: SQLAlchemy caches the SQL of a
# statement, but building the statement and the key it is cached under would
# be Python work repeated by every call (see the benchmark page).
USER_WITH_POSTS = select(User).options(joinedload(User.posts)).where(User.id == bindparam("id"))


class DuplicateError(Exception):
    """A value that must be unique (`field`: username or email) belongs to another user."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} is already taken")
        self.field = field


def get_task(db: Session, task_id: int) -> Task | None:
    return db.get(Task, task_id)


def list_tasks(db: Session, skip: int, limit: int) -> list[TaskRow]:
    columns = select(Task.id, Task.title, Task.description, Task.completed)
    statement = columns.order_by(Task.id).offset(skip).limit(limit)
    return list(db.execute(statement))


def create_task(db: Session, task_in: TaskCreate) -> Task:
    task = Task(**task_in.model_dump())
    db.add(task)
    db.commit()  # on disk before the 201 is sent
    db.refresh(task)
    return task


def replace_task(db: Session, task: Task, task_in: TaskCreate) -> Task:
    for field, value in task_in.model_dump().items():
        setattr(task, field, value)
    db.commit()
    db.refresh(task)
    return task


def delete_task(db: Session, task: Task) -> None:
    db.delete(task)
    db.commit()


def get_user(db: Session, user_id: int, *, with_posts: bool = False) -> User | None:
    if not with_posts:
        return db.get(User, user_id)
    # The joined rows repeat the user: unique() makes them one User.
    return db.scalars(USER_WITH_POSTS, {"id": user_id}).unique().one_or_none()


def get_user_by_username(db: Session, username: str) -> User | None:
    return db.scalar(select(User).where(User.username == username))


def list_users(db: Session, skip: int, limit: int) -> list[User]:
    statement = select(User).order_by(User.id).offset(skip).limit(limit)
    return list(db.scalars(statement))


# The passwords themselves never reach this module: only their hashes.
PASSWORDS = {"password", "current_password"}


def create_user(db: Session, user_in: UserCreate, password_hash: str) -> User:
    values = user_in.model_dump(exclude=PASSWORDS)
    _raise_if_taken(db, values)
    user = User(**values, password_hash=password_hash)
    db.add(user)
    _commit_unique(db, values)
    db.refresh(user)
    return user


def update_user(
    db: Session, user: User, user_in: UserUpdate, password_hash: str | None = None
) -> User:
    changes = user_in.model_dump(exclude_unset=True, exclude=PASSWORDS)
    if password_hash is not None:
        changes["password_hash"] = password_hash
    _raise_if_taken(db, changes, user.id)
    for field, value in changes.items():
        setattr(user, field, value)
    _commit_unique(db, changes, user.id)
    db.refresh(user)
    return user


def set_password_hash(db: Session, user: User, password_hash: str) -> None:
    user.password_hash = password_hash
    db.commit()


def delete_user(db: Session, user: User) -> None:
    db.delete(user)
    db.commit()


def _taken_field(db: Session, values: dict[str, Any], user_id: int | None) -> str | None:
    """The first of username and email in `values` that a user other than `user_id` has."""
    for column in (User.username, User.email):
        if column.key not in values:
            continue
        owner_id = db.scalar(select(User.id).where(column == values[column.key]))
        if owner_id is not None and owner_id != user_id:
            return column.key
    return None


def _raise_if_taken(db: Session, values: dict[str, Any], user_id: int | None = None) -> None:
    """Check first, for a friendly 409 in the common case."""
    field = _taken_field(db, values, user_id)
    if field is not None:
        raise DuplicateError(field)


def _commit_unique(db: Session, values: dict[str, Any], user_id: int | None = None) -> None:
    """Commit; if a unique constraint refuses it, raise DuplicateError instead."""
    try:
        db.commit()
    except IntegrityError as error:
        # Another request took the value between our check and this commit.
        # Roll back so that the session is usable again, then ask which field
        # it was (should that user be gone already, blame the username).
        db.rollback()
        raise DuplicateError(_taken_field(db, values, user_id) or "username") from error


def get_post(db: Session, post_id: int) -> Post | None:
    return db.get(Post, post_id)


def list_posts(db: Session, skip: int, limit: int, *, author: User | None = None) -> list[PostRow]:
    columns = select(Post.id, Post.title, Post.content, Post.user_id, Post.date_posted)
    statement = columns.order_by(Post.id).offset(skip).limit(limit)
    if author is not None:
        statement = statement.where(Post.user_id == author.id)
    return list(db.execute(statement))


def create_post(db: Session, author: User, post_in: PostCreate) -> Post:
    post = Post(**post_in.model_dump(), user_id=author.id)
    db.add(post)
    db.commit()
    db.refresh(post)
    return post


def update_post(db: Session, post: Post, post_in: PostUpdate) -> Post:
    for field, value in post_in.model_dump(exclude_unset=True).items():
        setattr(post, field, value)
    db.commit()
    db.refresh(post)
    return post


def delete_post(db: Session, post: Post) -> None:
    db.delete(post)
    db.commit()
