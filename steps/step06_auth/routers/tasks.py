"""The /tasks routes: HTTP in and out; the database work is in crud."""

from fastapi import APIRouter, HTTPException, status
from sqlalchemy.orm import Session

from .. import crud
from ..database import SessionDep
from ..dependencies import PageQuery, PathId
from ..models import Task
from ..schemas import Message, TaskCreate, TaskRead

router = APIRouter(prefix="/tasks", tags=["tasks"])

NOT_FOUND = {status.HTTP_404_NOT_FOUND: {"model": Message, "description": "Task not found"}}


def get_task_or_404(db: Session, task_id: int) -> Task:
    task = crud.get_task(db, task_id)
    if task is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Task not found")
    return task


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TaskRead)
def create_task(task_in: TaskCreate, db: SessionDep) -> Task:
    return crud.create_task(db, task_in)


@router.get("", response_model=list[TaskRead])
def list_tasks(db: SessionDep, page: PageQuery) -> list[crud.TaskRow]:
    return crud.list_tasks(db, page.skip, page.limit)


@router.get("/{task_id}", response_model=TaskRead, responses=NOT_FOUND)
def read_task(task_id: PathId, db: SessionDep) -> Task:
    return get_task_or_404(db, task_id)


@router.put("/{task_id}", response_model=TaskRead, responses=NOT_FOUND)
def replace_task(task_id: PathId, task_in: TaskCreate, db: SessionDep) -> Task:
    return crud.replace_task(db, get_task_or_404(db, task_id), task_in)


@router.delete("/{task_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def delete_task(task_id: PathId, db: SessionDep) -> None:
    crud.delete_task(db, get_task_or_404(db, task_id))
