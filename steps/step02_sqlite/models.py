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
