"""fractal3d's permission scopes, and which resource group and operation grant each."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    READ_FILE = "ReadFile"
    WRITE_FILE = "WriteFile"
    READ_TRANSACTION = "ReadTransaction"  # conversion and thumbnail results
    WRITE_TRANSACTION = "WriteTransaction"  # requesting conversions and thumbnails
    READ_USER = "ReadUser"
    WRITE_USER = "WriteUser"  # issuing AccessTokens
    READ_CHATROOM = "ReadChatroom"
    WRITE_CHATROOM = "WriteChatroom"


ALL_SCOPES = frozenset(Scope)

GRANTS: dict[tuple[str, str], Scope] = {
    ("cabin", "read"): Scope.READ_FILE,
    ("cabin", "write"): Scope.WRITE_FILE,
    ("turbine", "read"): Scope.READ_TRANSACTION,
    ("turbine", "write"): Scope.WRITE_TRANSACTION,
    ("hub", "read"): Scope.READ_USER,
    ("hub", "write"): Scope.WRITE_USER,
    ("signalman", "read"): Scope.READ_CHATROOM,
    ("signalman", "write"): Scope.WRITE_CHATROOM,
}


class UnknownPermission(ValueError):
    """No scope for this resource group and operation."""


def scope_for(resource: str, operation: str) -> Scope:
    """The scope a `{resource, operation}` permission grants; names are case-insensitive."""
    try:
        return GRANTS[(resource.strip().lower(), operation.strip().lower())]
    except KeyError:
        raise UnknownPermission(f"no permission {operation!r} on resource {resource!r}") from None
