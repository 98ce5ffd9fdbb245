"""The /users routes: HTTP in and out; the database work is in crud."""

from fastapi import APIRouter, HTTPException, status

from .. import crud
from ..database import SessionDep
from ..dependencies import PageQuery, PathId, get_user_or_404
from ..models import User
from ..permissions import FORBIDDEN, ChangesYouMayMake, NewUserYouMayCreate, UserYouMayChange
from ..schemas import Message, UserRead, UserWithPosts
from ..security import UNAUTHORIZED, CurrentUser, hash_password

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
    responses={**UNAUTHORIZED, **FORBIDDEN, **CONFLICT},
)
async def create_user(user_in: NewUserYouMayCreate, db: SessionDep) -> User:
    try:
        return await crud.create_user(db, user_in, await hash_password(user_in.password))
    except crud.DuplicateError as error:
        raise conflict(error) from error


@router.get("", response_model=list[UserRead])
async def list_users(db: SessionDep, page: PageQuery) -> list[User]:
    return await crud.list_users(db, page.skip, page.limit)


# Declared before /users/{user_id}, which would otherwise take "me" for an id (a 422).
@router.get("/me", response_model=UserRead, responses=UNAUTHORIZED)
async def read_current_user(current_user: CurrentUser) -> User:
    return current_user


@router.get("/{user_id}", response_model=UserWithPosts, responses=NOT_FOUND)
async def read_user(user_id: PathId, db: SessionDep) -> User:
    return await get_user_or_404(db, user_id, with_posts=True)


@router.patch(
    "/{user_id}",  # noqa: FAST003 (UserYouMayChange reads user_id)
    response_model=UserRead,
    responses={**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND, **CONFLICT},
)
async def update_user(user: UserYouMayChange, user_in: ChangesYouMayMake, db: SessionDep) -> User:
    new_hash = (
        await hash_password(user_in.password) if "password" in user_in.model_fields_set else None
    )
    try:
        return await crud.update_user(db, user, user_in, password_hash=new_hash)
    except crud.DuplicateError as error:
        raise conflict(error) from error


@router.delete(
    "/{user_id}",  # noqa: FAST003 (UserYouMayChange reads user_id)
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND},
)
async def delete_user(user: UserYouMayChange, db: SessionDep) -> None:
    await crud.delete_user(db, user)
