"""The tables, as typed SQLAlchemy 2.x classes."""

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

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


class User(Base):
    __tablename__ = "users"
    __table_args__ = {"sqlite_autoincrement": True}  # ids are never reused

    id: Mapped[int] = mapped_column(primary_key=True)
    # The database itself refuses a second row with the same value, even when
    # two requests race past the API's own check.
    username: Mapped[str] = mapped_column(String(50), unique=True)
    email: Mapped[str] = mapped_column(String(120), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(100))
