"""Staff passwords: argon2id (argon2-cffi's defaults, RFC 9106's second recommendation). Hashing
takes tens of milliseconds of CPU by design, so it runs in a thread, off the event loop."""

from __future__ import annotations

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 1024  # beyond this a "password" is an attempt to burn our CPU

_hasher = PasswordHasher()


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` is the one hashed; with no hash (no such login) a dummy hash is still
    checked, so an unknown email costs the same time as a wrong password."""
    try:
        return await asyncio.to_thread(_hasher.verify, password_hash or _dummy_hash(), password) and (
            password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not the password of anyone")
