"""How many workers consume each queue, asked of the workers themselves.

One broadcast (`inspect().active_queues()`) waits at most `REPLY_TIMEOUT_S` for the
replies, and its answer is kept for `FRESH_FOR_S`: however many callers ask, the
workers are asked at most once per that span, and one caller at a time. A broker
that cannot be reached counts no worker, after one try at connecting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

from workers.app import app
from workers.enqueue import BROKER_ERRORS

log = logging.getLogger(__name__)

REPLY_TIMEOUT_S = 0.5
FRESH_FOR_S = 5.0

_lock = threading.Lock()
_last: tuple[float, dict[str, int]] | None = None


def workers_by_queue() -> dict[str, int]:
    """queue → workers consuming it; blocks up to `REPLY_TIMEOUT_S` (run it in a thread)."""
    global _last
    with _lock:
        if _last is not None and time.monotonic() - _last[0] < FRESH_FOR_S:
            return _last[1]
        counts = _ask_workers()
        _last = (time.monotonic(), counts)
        return counts


def count_consumers(replies: dict[str, list[dict[str, object]]] | None) -> dict[str, int]:
    """Tally `active_queues()` replies (worker → the queues it consumes) per queue."""
    tally: Counter[str] = Counter()
    for queues in (replies or {}).values():
        tally.update({str(q.get("name")) for q in queues})
    return dict(tally)


def _ask_workers() -> dict[str, int]:
    try:
        with app.connection_for_read() as connection:
            # One try at connecting: a broker that is down answers "none" at once.
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=1)
            inspect = app.control.inspect(timeout=REPLY_TIMEOUT_S, connection=connection)
            replies = inspect.active_queues()
    except BROKER_ERRORS as exc:
        log.warning("could not ask the workers for their queues: %s", exc)
        return {}
    return count_consumers(replies)
