"""Password hashes for the content platform's users: argon2id, with the library's
recommended parameters. Pure: no I/O."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher()
# Checked when the username is unknown, so a miss costs what a wrong password does.
DUMMY_HASH = HASHER.hash("not-a-password")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    """True when `password` is the one `stored_hash` was made from (None: never)."""
    try:
        HASHER.verify(stored_hash or DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return stored_hash is not None
