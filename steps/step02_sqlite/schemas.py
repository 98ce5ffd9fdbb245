"""What goes over HTTP: Pydantic models, separate from the tables."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

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


class Message(BaseModel):
    detail: str
