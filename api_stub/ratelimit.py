"""Token-bucket rate limits kept in Redis, so every API process shares each bucket.

One Lua script refills and takes a token atomically, on Redis's clock, so API
processes on different hosts agree without agreeing on time.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import redis

from config.settings import RateLimit
from workers.channels import rate_limit_key
from workers.resources import redis_client

log = logging.getLogger(__name__)

# KEYS[1]: the bucket. ARGV: burst, refill per second, and optionally now in ms (tests).
TAKE_TOKEN = """
local burst = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2]) / 1000
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at_ms')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * per_ms)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at_ms', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / per_ms) + 1000)
return {allowed, tostring(tokens)}
"""


@dataclass(frozen=True)
class Verdict:
    """One call's outcome against its bucket, and what the response headers say."""

    allowed: bool
    limit: RateLimit
    tokens: float

    @property
    def remaining(self) -> int:
        return math.floor(self.tokens)

    @property
    def reset_s(self) -> int:
        """Seconds until the bucket is full again."""
        return math.ceil((self.limit.burst - self.tokens) / self.limit.per_s)

    @property
    def retry_after_s(self) -> int:
        """Whole seconds until the bucket holds a token again: the one Retry-After rule."""
        return max(1, math.ceil((1 - self.tokens) / self.limit.per_s))

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": f"{self.limit.per_s:g}",
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_s),
        }


class RateLimiter:
    """Takes one token per call from a caller's bucket."""

    def __init__(self, client: redis.Redis) -> None:
        self._script = client.register_script(TAKE_TOKEN)

    def take(self, caller: str, limit: RateLimit, now_ms: int | None = None) -> Verdict | None:
        """The call's verdict; None when Redis can't be asked (the call is let through:
        a Redis outage should not turn into a total API outage)."""
        args = [limit.burst, limit.per_s] + ([now_ms] if now_ms is not None else [])
        try:
            allowed, tokens = self._script(keys=[rate_limit_key(caller)], args=args)
        except redis.RedisError as exc:
            log.warning("rate limiter unavailable, letting the call through: %s", exc)
            return None
        return Verdict(allowed=bool(allowed), limit=limit, tokens=float(tokens))

    def take_all(self, buckets: list[tuple[str, RateLimit]]) -> Verdict | None:
        """Take from each bucket in turn; the first refusal, else the tightest verdict.
        None when there are no buckets or Redis can't be asked."""
        verdicts = []
        for caller, limit in buckets:
            verdict = self.take(caller, limit)
            if verdict is None:
                continue
            if not verdict.allowed:
                return verdict
            verdicts.append(verdict)
        return min(verdicts, key=lambda v: v.tokens / v.limit.burst, default=None)


_limiter: RateLimiter | None = None


def limiter() -> RateLimiter:
    """The process's limiter, on the farm's Redis."""
    global _limiter
    if _limiter is None:
        _limiter = RateLimiter(redis_client())
    return _limiter
