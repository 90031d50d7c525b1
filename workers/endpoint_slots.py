"""Per-endpoint delivery slots: at most a few attempts to one receiver at a time,
farm-wide, so a slow receiver cannot hold every webhook worker.

Slots are leases in a Redis sorted set per endpoint, scored by when they end, so a
sender that dies holding one loses it once its lease runs out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from redis.exceptions import RedisError

from storage.random_ids import uuid4_hex
from workers.channels import endpoint_slots_key
from workers.resources import redis_client

log = logging.getLogger(__name__)

# Expired leases out, then a slot if one is free. Redis's clock, so that hosts whose
# clocks differ agree on when a lease ends.
ACQUIRE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""


def endpoint_of(url: str) -> str:
    """The endpoint a URL is delivered to: scheme, host and port, lowercased."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    host = (parts.hostname or "").lower()
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


@contextmanager
def endpoint_slot(url: str, limit: int, lease_s: float) -> Iterator[bool]:
    """Hold one of the `limit` slots of `url`'s endpoint for at most `lease_s`: yields
    True when held (or when there is no cap), False when every slot is taken. With
    Redis unreachable it yields True without a slot: delivering matters more than
    sharing fairly."""
    if limit <= 0:
        yield True
        return
    key = endpoint_slots_key(endpoint_of(url))
    token = uuid4_hex()
    held = acquire(key, token, limit, lease_s)
    try:
        yield held is not False
    finally:
        if held:
            release(key, token)


def acquire(key: str, token: str, limit: int, lease_s: float) -> bool | None:
    """Whether a slot was taken under `token`; None when Redis could not be asked."""
    try:
        lease_ms = str(int(lease_s * 1000))
        return bool(redis_client().eval(ACQUIRE, 1, key, str(limit), lease_ms, token))
    except RedisError as exc:
        log.warning("endpoint slots unavailable (%s); delivering without one", exc)
        return None


def release(key: str, token: str) -> None:
    try:
        redis_client().zrem(key, token)
    except RedisError as exc:
        # The lease ends by itself.
        log.warning("endpoint slot not released (%s); its lease will end it", exc)
