"""Releasing jobs from the SQL backlog to their Celery queues, as capacity frees.

Each worker announces its slots (its concurrency, for each queue it consumes) in Redis
and renews them while it lives, a lease that lapses `ANNOUNCE_TTL_S` after the last
renewal however the worker ended; a queue's window is the slots of live leases on it
plus `dispatch_headroom`. Messages released into a lapsing lease wait in the broker for
the next worker of the queue, as any message does.

Releases happen where capacity appears: in a submission's transaction, in a finishing
job's, when a worker starts, and in the reconciler (the safety net). The choice itself
is storage.dispatch's. The reconciler also finds released jobs whose message the broker
lost (`vanished`), which would otherwise hold their slots.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

import redis
from celery.signals import worker_ready
from sqlalchemy.orm import Session

from config.celery import LONG_QUEUES
from config.settings import get_settings
from storage import dispatch
from storage.db import session_scope
from storage.jobs import Dispatch
from workers.enqueue import send_many
from workers.resources import redis_client

log = logging.getLogger(__name__)

SLOTS_KEY = "jobfarm:slots:"
# How long a worker's announcement holds without renewal, and how often it is renewed.
ANNOUNCE_TTL_S = 30.0
RENEW_EVERY_S = 10.0
# How long a process trusts the slots it last read: a worker joining is seen this late.
SLOTS_FRESH_FOR_S = 2.0

# Where kombu's Redis transport keeps messages: a list per queue and priority step, and
# one hash of the delivered but unacknowledged.
PRIORITY_SEP = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)
UNACKED_KEY = "unacked"

# Jobs shorter than this are short: their queue keeps one ready per slot (see `window`).
SHORT_RUN_S = 1.0
# Jobs shorter than this are very short: a pool process that ends one goes straight on
# with the next it releases (see workers.runner), so their queue needs none ready.
CONTINUE_BELOW_S = 0.25
RUN_MEAN_WEIGHT = 0.2
_run_s: dict[str, float] = {}

_slots_cache: tuple[float, dict[str, int]] | None = None
_slots_lock = threading.Lock()


def announce(client: redis.Redis, node: str, queues: Iterable[str], slots: int) -> None:
    """Record that worker `node` can run `slots` jobs at once from each of `queues`."""
    expires = time.time() + ANNOUNCE_TTL_S
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        pipe.hset(SLOTS_KEY + queue, node, f"{slots} {expires:.0f}")
    pipe.execute()


def read_slots(client: redis.Redis, queues: tuple[str, ...]) -> dict[str, int]:
    """queue → slots announced by live workers (announcements past their time ignored)."""
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        pipe.hgetall(SLOTS_KEY + queue)
    now = time.time()
    slots = {}
    lapsed = client.pipeline(transaction=False)
    for queue, entries in zip(queues, pipe.execute(), strict=True):
        total = 0
        for node, value in entries.items():
            count, _, expires = value.decode().partition(" ")
            if float(expires) > now:
                total += int(count)
            else:
                lapsed.hdel(SLOTS_KEY + queue, node)  # a worker gone for good
        slots[queue] = total
    if len(lapsed):
        lapsed.execute()
    return slots


def slots_by_queue() -> dict[str, int]:
    """The job queues' slots, read at most every `SLOTS_FRESH_FOR_S` per process. When
    Redis cannot be read, the last figures stand (none at first: nothing is released,
    and the backlog waits safely in SQL)."""
    global _slots_cache
    with _slots_lock:
        if _slots_cache is not None and time.monotonic() - _slots_cache[0] < SLOTS_FRESH_FOR_S:
            return _slots_cache[1]
        try:
            slots = read_slots(redis_client(), LONG_QUEUES)
        except (redis.RedisError, OSError) as exc:
            log.warning("could not read the workers' slots: %s", exc)
            slots = _slots_cache[1] if _slots_cache else {}
        _slots_cache = (time.monotonic(), slots)
        return slots


def window(queue: str) -> int:
    """How many of `queue`'s jobs may be in flight (released or running) at once: its
    slots, plus `dispatch_headroom`; plus one job ready per slot where this process has
    seen the queue's jobs run shorter than `SHORT_RUN_S`, so that a slot freed by a
    short job never idles while the next one's message goes out (a later job of higher
    priority then waits for at most one short job per slot). Not for very short ones:
    their slots go straight on (`continues`), and a ready message would wait."""
    slots = slots_by_queue().get(queue, 0)
    if not slots:
        return 0
    short = _run_s.get(queue, SHORT_RUN_S) < SHORT_RUN_S
    ready = slots if short and not continues(queue) else 0
    return slots + max(get_settings().dispatch_headroom, ready)


def note_run(queue: str, seconds: float) -> None:
    """Count a run of `seconds` into this process's running mean for `queue`."""
    last = _run_s.get(queue)
    _run_s[queue] = seconds if last is None else last + RUN_MEAN_WEIGHT * (seconds - last)


def continues(queue: str) -> bool:
    """Whether runs of `queue` go straight on: this process has seen its jobs run shorter
    than `CONTINUE_BELOW_S`, and messages may go on (`continue_for_s`)."""
    short = _run_s.get(queue, CONTINUE_BELOW_S) < CONTINUE_BELOW_S
    return short and get_settings().continue_for_s > 0


def release(session: Session, queues: Iterable[str], freed: bool = False) -> list[Dispatch]:
    """Release what each queue has room for, in the caller's transaction (the last thing
    it does, but for a continued run's claim); send the result with `send` after the
    commit. `freed`: the caller's job ended, freeing a slot on each of `queues`."""
    released: list[Dispatch] = []
    # Sorted: a transaction that takes two queues' locks takes them in one order.
    for queue in sorted(set(queues)):
        released += dispatch.release(session, queue, window(queue), freed)
    return released


def send(released: list[Dispatch]) -> None:
    """Send released jobs' messages over one connection; those the broker does not take
    are marked unsent, and the reconciler sends them."""
    if released:
        send_many(released)


def release_and_send(queues: Iterable[str]) -> int:
    """Release and send in a transaction of its own; returns how many went."""
    with session_scope(get_settings().sql_url) as session:
        released = release(session, queues)
    send(released)
    return len(released)


def vanished(suspects: list[Dispatch]) -> list[Dispatch]:
    """Those of `suspects` (released, not started) whose message the broker no longer
    holds. A message in flight from the broker to a worker may be counted gone: it is
    then dropped at its claim, the job running once under its new message."""
    if not suspects:
        return []
    present = task_ids_in_broker({d.queue for d in suspects})
    if present is None:
        return []
    return [d for d in suspects if d.dispatch_id not in present]


def task_ids_in_broker(queues: Iterable[str]) -> set[str] | None:
    """The task ids of every message Redis holds for `queues`: waiting in their lists
    (every priority step's) or delivered to a worker and not yet acknowledged (the
    transport's `unacked` hash, which also holds retries waiting out their countdown).
    None when the broker is not Redis. The window keeps both small."""
    if not get_settings().broker_url.startswith(("redis://", "rediss://", "unix://")):
        return None
    client = redis_client()
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        for name in [queue, *(f"{queue}{PRIORITY_SEP}{step}" for step in PRIORITY_STEPS)]:
            pipe.lrange(name, 0, -1)
    pipe.hvals(UNACKED_KEY)
    *lists, unacked = pipe.execute()
    found = {_task_id(raw) for raw in (m for waiting in lists for m in waiting)}
    found |= {_task_id(raw, delivered=True) for raw in unacked}
    return found


def _task_id(raw: bytes, delivered: bool = False) -> str:
    try:
        message = json.loads(raw)
        return str((message[0] if delivered else message)["headers"]["id"])
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


class Announcer:
    """The thread of a worker's main process that keeps its slots announced, and releases
    work for them as soon as the worker is ready. It ends with the process."""

    def __init__(self, node: str, queues: tuple[str, ...], slots: int) -> None:
        self.node, self.queues, self.slots = node, queues, slots
        self._thread = threading.Thread(target=self._run, name="slots-announcer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        first = True
        while True:
            try:
                announce(redis_client(), self.node, self.queues, self.slots)
                if first:
                    _forget_slots()
                    release_and_send(self.queues)
                    first = False
            except Exception:  # renewed on the next tick; the reconciler releases meanwhile
                log.warning("announcing %s's slots failed", self.node, exc_info=True)
            time.sleep(RENEW_EVERY_S)


def _forget_slots() -> None:
    global _slots_cache
    with _slots_lock:
        _slots_cache = None


@worker_ready.connect
def _announce_slots(sender: Any, **_: Any) -> None:
    queues = tuple(q for q in sender.app.amqp.queues.consume_from if q in LONG_QUEUES)
    if not queues:
        return
    Announcer(sender.hostname, queues, int(sender.pool.num_processes)).start()
