"""Random identifiers without a system call each: bytes from the operating system's
generator, read 4 KiB at a time and each handed out once.

A 10,000-task batch names 20,000 jobs and messages; one `os.urandom` per name was a
fifth of its intake where system calls are slow. The bytes are the same as
`os.urandom`'s; the buffer is per process (emptied in a forked child, which must not
hand out its parent's) and taken under a lock (threads serve requests), which a fork
waits for, so that no child starts with it held. For identifiers, not for secrets
(keys and tokens come from `secrets`)."""

from __future__ import annotations

import os
import threading

BUFFER_BYTES = 4096

_lock = threading.Lock()
_buffer = b""
_offset = 0


def random_bytes(count: int) -> bytes:
    """`count` bytes from the operating system's generator, never handed out before."""
    global _buffer, _offset
    if count < 0:
        raise ValueError("a count of bytes is not negative")
    with _lock:
        if _offset + count > len(_buffer):
            _buffer, _offset = os.urandom(max(BUFFER_BYTES, count)), 0
        taken = _buffer[_offset : _offset + count]
        _offset += count
        return taken


def uuid4_hex() -> str:
    """A random (version 4) UUID as 32 hex digits, as `uuid.uuid4().hex` gives."""
    raw = bytearray(random_bytes(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return raw.hex()


def uuid4_str() -> str:
    """A random (version 4) UUID in its dashed form, as `str(uuid.uuid4())` gives."""
    h = uuid4_hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _forget_the_parents_bytes() -> None:
    global _buffer, _offset, _lock
    _buffer, _offset, _lock = b"", 0, threading.Lock()


# A fork taken while another thread held the lock would leave the child's copy held
# for good: the fork waits for it instead.
os.register_at_fork(
    before=lambda: _lock.acquire(),
    after_in_parent=lambda: _lock.release(),
    after_in_child=_forget_the_parents_bytes,
)
