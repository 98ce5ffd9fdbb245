"""What goes over HTTP: Pydantic models, separate from the tables."""

from typing import Annotated, Literal

from pydantic import (
    MISSING,
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    Secret,
)

from .models import Role

# No NUL characters: PostgreSQL cannot store them in text.
Text = Annotated[str, Field(pattern=r"^[^\x00]*$")]


class TaskCreate(BaseModel):
    """The body of POST /tasks and PUT /tasks/{task_id}."""

    title: Annotated[Text, Field(min_length=1, max_length=200)]
    description: Annotated[Text, Field(max_length=2000)] = ""
    completed: bool = False


class TaskRead(TaskCreate):
    # Read the fields from a models.Task object's attributes.
    model_config = ConfigDict(from_attributes=True)

    id: int


Username = Annotated[Text, Field(min_length=1, max_length=50)]
# Stored in lower case, so that Alice@Example.com and alice@example.com are
# one address to the unique constraint too.
Email = Annotated[EmailStr, Field(max_length=120), AfterValidator(str.lower)]
FullName = Annotated[Text, Field(max_length=100)]
# Secret: printed or logged, a password shows as "**********"; only
# .get_secret_value() hands it over, to the hasher. "format": "password"
# makes Swagger UI mask what is typed.
PASSWORD_FIELD = {"format": "password", "writeOnly": True}
Password = Secret[
    Annotated[Text, Field(min_length=8, max_length=128, json_schema_extra=PASSWORD_FIELD)]
]
CurrentPassword = Secret[Annotated[Text, Field(max_length=128, json_schema_extra=PASSWORD_FIELD)]]


class UserCreate(BaseModel):
    """The body of POST /users (sign-up): a role may only be chosen by an admin."""

    username: Username
    email: Email
    full_name: FullName | None = None
    password: Password
    role: Role = Role.MEMBER


class UserUpdate(BaseModel):
    """The body of PATCH /users/{user_id}: only the fields sent change.

    username and email may be left out but never be null (422), so their
    default is MISSING rather than None; null for full_name clears it.
    A user changing their own password sends the current one too.
    """

    username: Username | MISSING = MISSING
    email: Email | MISSING = MISSING
    full_name: FullName | None = None
    role: Role | MISSING = MISSING
    password: Password | MISSING = MISSING
    current_password: CurrentPassword | MISSING = MISSING


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    email: str
    full_name: str | None
    role: Role


PostTitle = Annotated[Text, Field(min_length=1, max_length=100)]
PostContent = Annotated[Text, Field(min_length=1, max_length=10000)]


class PostCreate(BaseModel):
    """The body of POST /users/{user_id}/posts: the author comes from the URL."""

    title: PostTitle
    content: PostContent


class PostUpdate(BaseModel):
    """The body of PATCH /posts/{post_id}: only the fields sent change, null is a 422."""

    title: PostTitle | MISSING = MISSING
    content: PostContent | MISSING = MISSING


class PostRead(PostCreate):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    date_posted: AwareDatetime


class UserWithPosts(UserRead):
    """A user with its posts, as GET /users/{user_id} answers."""

    posts: list[PostRead]


class Token(BaseModel):
    """The answer of POST /auth/token, as OAuth2 names its fields."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"


class Message(BaseModel):
    detail: str
