"""Cheap Argon2 in the uvicorn servers of the tests that are not about hashing.

Python imports this module at start-up in the servers that tests/conftest.py's
`server` fixture starts with this folder on PYTHONPATH (not in a test marked
`real_hashing`). pwdlib's recommended Argon2id (64 MiB, 3 passes) costs
100-250 ms of CPU a hash: twenty racing sign-ups took seconds. The servers
hash at the cheapest parameters instead, as the in-process tests do
(tests/support/auth.py, CHEAP_HASHING); the command, the app and its code
are the learner's.
"""

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher


def _cheapest(cls: type[PasswordHash]) -> PasswordHash:
    return cls((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))


PasswordHash.recommended = classmethod(_cheapest)  # type: ignore[method-assign, assignment]
