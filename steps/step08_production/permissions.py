"""Who may do what (authorization): each rule is a dependency, named as it reads.

A route that takes `post: PostYouMayChange` only runs when the current user
wrote that post or is an admin; otherwise the answer is 401 (no valid token),
404 (no such post) or 403 (not yours), in that order, before the route's code.
Reads stay open to anyone, and tasks keep step 5's rules: no route for them
asks for a user.
"""

from typing import Annotated

from fastapi import Depends, HTTPException, status

from .database import SessionDep
from .dependencies import PathId, get_post_or_404, get_user_or_404
from .models import Post, User
from .schemas import Message, UserCreate, UserUpdate
from .security import CurrentUser, CurrentUserIfAny, is_admin, verify_password

FORBIDDEN = {
    status.HTTP_403_FORBIDDEN: {"model": Message, "description": "Logged in, but not allowed"}
}


def forbidden(detail: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=detail)


async def user_you_may_change(current_user: CurrentUser, user_id: PathId, db: SessionDep) -> User:
    """The user of the path, if that is the current user, or the current user is an admin."""
    user = await get_user_or_404(db, user_id)
    if user.id != current_user.id and not is_admin(current_user):
        raise forbidden("Only that user or an admin may do this")
    return user


async def post_you_may_change(current_user: CurrentUser, post_id: PathId, db: SessionDep) -> Post:
    """The post of the path, if the current user wrote it or is an admin."""
    post = await get_post_or_404(db, post_id)
    if post.user_id != current_user.id and not is_admin(current_user):
        raise forbidden("Only the post's author or an admin may do this")
    return post


UserYouMayChange = Annotated[User, Depends(user_you_may_change)]
PostYouMayChange = Annotated[Post, Depends(post_you_may_change)]


async def changes_you_may_make(
    user_in: UserUpdate, user: UserYouMayChange, current_user: CurrentUser
) -> UserUpdate:
    """The body of PATCH /users/{user_id}, if the current user may make every change in it.

    An admin may change anything. A user may not change their role, and
    changes their password only by sending the current one too.
    """
    if is_admin(current_user):
        return user_in
    if "role" in user_in.model_fields_set:
        raise forbidden("Only an admin may change a role")
    if "password" in user_in.model_fields_set and not await knows_current_password(user_in, user):
        raise forbidden("To change your password, send your current one as current_password")
    return user_in


async def knows_current_password(user_in: UserUpdate, user: User) -> bool:
    """Whether the body holds the user's current password (none, if they have none yet)."""
    if "current_password" not in user_in.model_fields_set or user.password_hash is None:
        return False
    return await verify_password(user_in.current_password, user.password_hash)


async def new_user_you_may_create(
    user_in: UserCreate, current_user: CurrentUserIfAny
) -> UserCreate:
    """The body of POST /users: anyone may sign up, but only an admin may choose a role."""
    if "role" in user_in.model_fields_set and not is_admin(current_user):
        raise forbidden("Only an admin may choose a role")
    return user_in


ChangesYouMayMake = Annotated[UserUpdate, Depends(changes_you_may_make)]
NewUserYouMayCreate = Annotated[UserCreate, Depends(new_user_you_may_create)]
