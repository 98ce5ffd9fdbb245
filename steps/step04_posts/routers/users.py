"""The /users routes: HTTP in and out; the database work is in crud."""

from fastapi import APIRouter, HTTPException, status

from .. import crud
from ..database import SessionDep
from ..dependencies import PageQuery, PathId, get_user_or_404
from ..models import User
from ..schemas import Message, UserCreate, UserRead, UserUpdate, UserWithPosts

router = APIRouter(prefix="/users", tags=["users"])

NOT_FOUND = {status.HTTP_404_NOT_FOUND: {"model": Message, "description": "User not found"}}
CONFLICT = {
    status.HTTP_409_CONFLICT: {
        "model": Message,
        "description": "The username or the email belongs to another user",
    }
}
CONFLICT_DETAILS = {"username": "Username already taken", "email": "Email already registered"}


def conflict(error: crud.DuplicateError) -> HTTPException:
    return HTTPException(status_code=status.HTTP_409_CONFLICT, detail=CONFLICT_DETAILS[error.field])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UserRead,
    responses=CONFLICT,
)
def create_user(user_in: UserCreate, db: SessionDep) -> User:
    try:
        return crud.create_user(db, user_in)
    except crud.DuplicateError as error:
        raise conflict(error) from error


@router.get("", response_model=list[UserRead])
def list_users(db: SessionDep, page: PageQuery) -> list[User]:
    return crud.list_users(db, page.skip, page.limit)


@router.get("/{user_id}", response_model=UserWithPosts, responses=NOT_FOUND)
def read_user(user_id: PathId, db: SessionDep) -> User:
    return get_user_or_404(db, user_id, with_posts=True)


@router.patch("/{user_id}", response_model=UserRead, responses={**NOT_FOUND, **CONFLICT})
def update_user(user_id: PathId, user_in: UserUpdate, db: SessionDep) -> User:
    user = get_user_or_404(db, user_id)
    try:
        return crud.update_user(db, user, user_in)
    except crud.DuplicateError as error:
        raise conflict(error) from error


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def delete_user(user_id: PathId, db: SessionDep) -> None:
    crud.delete_user(db, get_user_or_404(db, user_id))
