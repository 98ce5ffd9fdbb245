"""Step 2: the task list, persisted in SQLite through SQLAlchemy.

Run it from the repository root:

    uvicorn steps.step02_sqlite.main:app --reload
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, HTTPException, Path, Query, status
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from shared.plumbing import harden

from .database import Base, SessionDep, engine
from .models import Task
from .schemas import Message, TaskCreate, TaskRead

# The largest integer SQLite and PostgreSQL (BIGINT) can store.
MAX_ID = 2**63 - 1
# A task as the list answers it: a row of the columns TaskRead reads (a field
# added to TaskRead is added to the list's select too). A list changes nothing,
# so it skips building an ORM object per row (identity map, change tracking);
# what that saves is on the benchmark page.
TaskRow = Row[int, str, str, bool]  # id, title, description, completed


# --8<-- [start:lifespan]
@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    Base.metadata.create_all(bind=engine)  # creates missing tables, never alters
    yield
    engine.dispose()  # close the pooled connections on shutdown


# --8<-- [end:lifespan]

app = FastAPI(
    title="Tasks in SQLite",
    summary="Step 2: the task list, persisted in SQLite through SQLAlchemy.",
    lifespan=lifespan,
    docs_url=None,
    redoc_url=None,
)
harden(app)  # offline docs, a 1 MiB body limit, JSON 422s (plumbing, see shared/plumbing/)


TaskId = Annotated[int, Path(gt=0, le=MAX_ID)]
NOT_FOUND = {status.HTTP_404_NOT_FOUND: {"model": Message, "description": "Task not found"}}


@app.get("/")
def welcome() -> dict[str, str | int]:
    return {"step": 2, "title": app.title, "docs": "/docs"}


def get_task_or_404(db: Session, task_id: int) -> Task:
    task = db.get(Task, task_id)
    if task is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Task not found")
    return task


@app.post("/tasks", status_code=status.HTTP_201_CREATED, response_model=TaskRead)
def create_task(task_in: TaskCreate, db: SessionDep) -> Task:
    task = Task(**task_in.model_dump())
    db.add(task)
    db.commit()  # on disk before the 201 is sent
    db.refresh(task)
    return task


@app.get("/tasks", response_model=list[TaskRead])
def list_tasks(
    db: SessionDep,
    skip: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
) -> list[TaskRow]:
    # Rows, not Task objects: TaskRead reads a row's attributes as it would an object's.
    columns = select(Task.id, Task.title, Task.description, Task.completed)
    statement = columns.order_by(Task.id).offset(skip).limit(limit)
    return list(db.execute(statement))


@app.get("/tasks/{task_id}", response_model=TaskRead, responses=NOT_FOUND)
def read_task(task_id: TaskId, db: SessionDep) -> Task:
    return get_task_or_404(db, task_id)


@app.put("/tasks/{task_id}", response_model=TaskRead, responses=NOT_FOUND)
def replace_task(task_id: TaskId, task_in: TaskCreate, db: SessionDep) -> Task:
    task = get_task_or_404(db, task_id)
    for field, value in task_in.model_dump().items():
        setattr(task, field, value)
    db.commit()
    db.refresh(task)
    return task


@app.delete("/tasks/{task_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def delete_task(task_id: TaskId, db: SessionDep) -> None:
    task = get_task_or_404(db, task_id)
    db.delete(task)
    db.commit()
