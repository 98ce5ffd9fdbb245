"""The tables, as typed SQLAlchemy 2.x classes."""

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, Dialect, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from .database import Base


class Task(Base):
    __tablename__ = "tasks"
    # SQLite would give the id of the newest row again once it is deleted;
    # AUTOINCREMENT never reuses an id (as PostgreSQL never does), so an old
    # link cannot lead to a different task.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")
    completed: Mapped[bool] = mapped_column(default=False)


# --8<-- [start:user]
class Role(StrEnum):
    MEMBER = "member"
    ADMIN = "admin"


class User(Base):
    __tablename__ = "users"
    # The database refuses any other role too, whoever writes to it.
    __table_args__ = (
        CheckConstraint("role IN ('member', 'admin')", name="role"),
        {"sqlite_autoincrement": True},  # ids are never reused
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The database itself refuses a second row with the same value, even when
    # two requests race past the API's own check.
    username: Mapped[str] = mapped_column(String(50), unique=True)
    email: Mapped[str] = mapped_column(String(120), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(100))
    # server_default: rows that existed before this column get "member" too.
    role: Mapped[str] = mapped_column(String(20), default=Role.MEMBER, server_default=Role.MEMBER)
    # An Argon2id hash ("$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>"), never
    # the password itself. NULL for users made before step 6: they cannot log
    # in until an admin sets a password.
    password_hash: Mapped[str | None] = mapped_column(String(255))

    posts: Mapped[list["Post"]] = relationship(
        back_populates="author",
        order_by="Post.id",
        cascade="all, delete-orphan",
        # The database deletes the posts (ON DELETE CASCADE): the ORM need not
        # load them first to delete them one by one.
        passive_deletes=True,
        # Never loaded behind our back: with asyncio, a lazy load would be a
        # query inside `user.posts`, which cannot be awaited (MissingGreenlet,
        # and only on the requests that happen to reach it). A query that
        # wants the posts says so (crud.get_user, joinedload); any other
        # access raises at once, in the tests.
        lazy="raise",
    )


# --8<-- [end:user]


def as_utc(moment: datetime) -> datetime:
    """The same moment in UTC; a naive value (as SQLite returns it) is taken as UTC."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, in UTC, on every database.

    PostgreSQL keeps the moment (timestamptz) and returns it in the session's
    time zone; SQLite keeps no offset at all and returns naive values. Both
    are stored and read back as UTC here.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = {"sqlite_autoincrement": True}  # ids are never reused

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    content: Mapped[str] = mapped_column(String(10000))
    date_posted: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    # Indexed: listing a user's posts and the cascade both look posts up by it.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    author: Mapped[User] = relationship(back_populates="posts", lazy="raise")
