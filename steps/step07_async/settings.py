"""The settings: read from the environment once, and checked like a request body.

A bad value stops the start-up with one line that names the variable and what
it expects, instead of a traceback: with ACCESS_TOKEN_EXPIRE_MINUTES=abc,

    Bad setting: ACCESS_TOKEN_EXPIRE_MINUTES: Input should be a valid integer, ...
"""

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The default database is a file named after this step in the repository's
# .data/ folder, wherever uvicorn, alembic or pytest was started from.
DATA_DIR = Path(__file__).resolve().parents[2] / ".data"
# HS256 signs with a 256-bit key; a shorter one is easier to guess.
MIN_KEY_LENGTH = 32
MAKE_A_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


class Settings(BaseSettings):
    """Each field is read from the environment variable of the same name, in capitals."""

    # A variable set to nothing (`SECRET_KEY=`) counts as not set.
    model_config = SettingsConfigDict(env_ignore_empty=True)

    database_url: str = f"sqlite:///{DATA_DIR / Path(__file__).parent.name}.db"
    # Without a key, one is made once and kept in this file (see security.py),
    # so that a restart, or another worker, checks the tokens signed before.
    secret_key: SecretStr | None = None
    secret_key_file: Path = DATA_DIR / f"{Path(__file__).parent.name}.key"
    access_token_expire_minutes: int = Field(default=30, gt=0)

    @field_validator("secret_key")
    @classmethod
    def long_enough(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and len(key.get_secret_value()) < MIN_KEY_LENGTH:
            raise ValueError(f"must be at least {MIN_KEY_LENGTH} characters: {MAKE_A_KEY}")
        return key


def load_settings() -> Settings:
    """This process's settings; a bad value ends it with one line (never the value itself,
    which may be a secret)."""
    try:
        return Settings()
    except ValidationError as error:
        problems = [f"{str(e['loc'][0]).upper()}: {e['msg']}" for e in error.errors()]
        raise SystemExit("Bad setting: " + "; ".join(problems)) from None


settings = load_settings()
