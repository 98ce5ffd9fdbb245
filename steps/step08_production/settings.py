"""The settings: read from the environment once, and checked like a request body.

A bad value stops the start-up with one line that names the variable and what
it expects, instead of a traceback: with ACCESS_TOKEN_EXPIRE_MINUTES=abc,

    Bad setting: ACCESS_TOKEN_EXPIRE_MINUTES: Input should be a valid integer, ...

Besides the environment, a `.env` file in the repository's root is read when
there is one (the environment wins); compose.yaml reads its own, beside it.
"""

import os
import re
import sys
from pathlib import Path
from typing import Annotated, Literal, NamedTuple

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The default database is a file named after this step in the repository's
# .data/ folder, wherever uvicorn, alembic or pytest was started from.
DATA_DIR = Path(__file__).resolve().parents[2] / ".data"
# HS256 signs with a 256-bit key; a shorter one is easier to guess.
MIN_KEY_LENGTH = 32
MAKE_A_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


class Rate(NamedTuple):
    """At most `count` in `seconds`: "5/minute" is Rate(5, 60)."""

    count: int
    seconds: int


UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
RATE = re.compile(r"(\d+)\s*/\s*(second|minute|hour|day)")


def parse_rate(value: str) -> Rate:
    match = RATE.fullmatch(value.strip())
    if match is None or int(match[1]) < 1:
        raise ValueError("expected a rate such as 5/minute (per second, minute, hour or day)")
    return Rate(int(match[1]), UNITS[match[2]])


# NoDecode: the text as written ("5/minute"), not JSON as for other tuples.
RateLimit = Annotated[Rate, NoDecode, BeforeValidator(parse_rate)]


def split_origins(value: str) -> list[str]:
    """CORS_ORIGINS=https://a.example,https://b.example (commas, as a shell writes a list)."""
    return [origin.strip() for origin in value.split(",") if origin.strip()]


ORIGIN = re.compile(r"https?://[^/\s*]+")


def check_origin(origin: str) -> str:
    # "*" would let every site's pages call the API; name the ones you trust.
    if not ORIGIN.fullmatch(origin):
        raise ValueError(f"{origin!r} is not an origin such as https://app.example.com")
    return origin


Origin = Annotated[str, AfterValidator(check_origin)]


# --8<-- [start:settings]
class Settings(BaseSettings):
    """Each field is read from the environment variable of the same name, in capitals."""

    # A variable set to nothing (`SECRET_KEY=`) counts as not set. The .env
    # file may hold other variables too (compose.yaml's): they are ignored.
    model_config = SettingsConfigDict(
        env_ignore_empty=True, env_file=DATA_DIR.parent / ".env", extra="ignore"
    )

    # First: the checks of the fields below read it.
    environment: Literal["development", "production"] = "development"
    database_url: str = f"sqlite:///{DATA_DIR / Path(__file__).parent.name}.db"
    # Without a key, one is made once and kept in this file (see security.py),
    # so that a restart, or another worker, checks the tokens signed before.
    secret_key: SecretStr | None = None
    secret_key_file: Path = DATA_DIR / f"{Path(__file__).parent.name}.key"
    access_token_expire_minutes: int = Field(default=30, gt=0)
    # Where the workers keep what they share: the login counters (ratelimit.py).
    redis_url: Annotated[str, Field(pattern=r"^(redis|rediss|unix)://")] | None = None
    # Defaults are checked too, as if they were read.
    login_rate_limit: RateLimit = "5/minute"  # failed logins per username
    login_ip_rate_limit: RateLimit = "60/minute"  # logins per client address
    # The origins whose pages may call the API from a browser: none by default.
    cors_origins: Annotated[list[Origin], NoDecode, BeforeValidator(split_origins)] = ""
    log_format: Literal["json", "console"] = "console"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("secret_key")
    @classmethod
    def long_enough(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and len(key.get_secret_value()) < MIN_KEY_LENGTH:
            raise ValueError(f"must be at least {MIN_KEY_LENGTH} characters: {MAKE_A_KEY}")
        return key

    @field_validator("secret_key", "redis_url")
    @classmethod
    def shared_in_production(cls, value: object, info: ValidationInfo) -> object:
        # With several workers, a key made by each process signs tokens that
        # the others refuse, and counters kept by each let N times the
        # attempts through: in production, both must be shared.
        if value is None and info.data.get("environment") == "production":
            raise ValueError("must be set when ENVIRONMENT=production")
        return value


# --8<-- [end:settings]


def load_settings() -> Settings:
    """This process's settings; a bad value ends it with one line (never the value itself,
    which may be a secret)."""
    try:
        return Settings()
    except ValidationError as error:
        problems = [f"{str(e['loc'][0]).upper()}: {e['msg']}" for e in error.errors()]
        raise SystemExit("Bad setting: " + "; ".join(problems)) from None


settings = load_settings()

# --8<-- [start:check]
if __name__ == "__main__":
    # Run as a program (`python -m` on this module, a command after it or
    # not): the line above has read the settings, and a bad one has ended this
    # process with its one line. Check them once, before uvicorn starts its
    # workers: uvicorn starts again every worker that ends, so a worker that
    # cannot read its settings would print that line again and again, forever.
    if len(sys.argv) > 1:
        # The settings are good: the command takes this process's place, with
        # its PID (so a container's SIGTERM reaches it), as an entrypoint does.
        os.execvp(sys.argv[1], sys.argv[1:])
    print("The settings are good.")
# --8<-- [end:check]
