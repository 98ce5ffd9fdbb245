"""Step 1: a task list kept in memory.

Run it from the repository root:

    uvicorn steps.step01_memory.main:app --reload
"""

from itertools import count
from threading import Lock
from typing import Annotated

from fastapi import FastAPI, HTTPException, Query, status
from pydantic import BaseModel, Field

from shared.plumbing import harden

# No NUL characters: some databases (PostgreSQL) cannot store them in text.
Text = Annotated[str, Field(pattern=r"^[^\x00]*$")]


class TaskCreate(BaseModel):
    """The body of POST /tasks and PUT /tasks/{task_id}."""

    title: Annotated[Text, Field(min_length=1, max_length=200)]
    description: Annotated[Text, Field(max_length=2000)] = ""
    completed: bool = False


class Task(TaskCreate):
    id: int


class Message(BaseModel):
    detail: str


# --8<-- [start:storage]
# The whole "database": lost when the process stops.
tasks: dict[int, Task] = {}
next_ids = count(1)
# FastAPI runs `def` endpoints in a thread pool, so two requests can change
# the dict at the same time: one lock makes each change all-or-nothing.
tasks_lock = Lock()
# --8<-- [end:storage]

app = FastAPI(
    title="Tasks in memory",
    summary="Step 1: a task list kept in a Python dict.",
    docs_url=None,
    redoc_url=None,
)
harden(app)  # offline docs, a 1 MiB body limit, JSON 422s (plumbing, see shared/plumbing/)


NOT_FOUND = {status.HTTP_404_NOT_FOUND: {"model": Message, "description": "Task not found"}}


@app.get("/")
def welcome() -> dict[str, str | int]:
    return {"step": 1, "title": app.title, "docs": "/docs"}


def get_task_or_404(task_id: int) -> Task:
    task = tasks.get(task_id)
    if task is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Task not found")
    return task


@app.post("/tasks", status_code=status.HTTP_201_CREATED)
def create_task(task_in: TaskCreate) -> Task:
    with tasks_lock:
        task = Task(id=next(next_ids), **task_in.model_dump())
        tasks[task.id] = task
    return task


@app.get("/tasks")
def list_tasks(
    skip: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
) -> list[Task]:
    # A dict keeps insertion order and ids only grow: this is ordered by id.
    with tasks_lock:
        return list(tasks.values())[skip : skip + limit]


@app.get("/tasks/{task_id}", responses=NOT_FOUND)
def read_task(task_id: int) -> Task:
    return get_task_or_404(task_id)


@app.put("/tasks/{task_id}", responses=NOT_FOUND)
def replace_task(task_id: int, task_in: TaskCreate) -> Task:
    with tasks_lock:
        get_task_or_404(task_id)
        task = Task(id=task_id, **task_in.model_dump())
        tasks[task_id] = task
    return task


@app.delete("/tasks/{task_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def delete_task(task_id: int) -> None:
    with tasks_lock:
        get_task_or_404(task_id)
        del tasks[task_id]
