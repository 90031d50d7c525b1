"""Which webhook bodies a dialect sends: its package's `shapes` module, found by name.

A dialect package `api_stub/<dialect>/` may hold a `shapes.py` with
`job_event(job, link) -> dict` and, if it has batches, `batch_event(batch) -> dict`.
Adding a dialect therefore needs no edit here. A dialect without a `shapes`
module, or without `batch_event`, sends the native envelope. The modules are
plain Python with no web framework, so the workers import them.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from storage.batches import BatchView
from storage.jobs import JobView
from storage.urls import Link

FALLBACK = "native"
DIALECT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Shapes:
    """One dialect's webhook bodies: a finished job's, and a completed batch's."""

    job_event: Callable[[JobView, Link], dict[str, Any]]
    batch_event: Callable[[BatchView], dict[str, Any]]


@functools.cache
def shapes_for(dialect: str) -> Shapes:
    """The shapes of `dialect`; the native ones for a dialect that has none (or a name
    that cannot be a dialect's package)."""
    native = _shapes_module(FALLBACK)
    assert native is not None
    module = (_shapes_module(dialect) if DIALECT_NAME.fullmatch(dialect) else None) or native
    return Shapes(
        job_event=getattr(module, "job_event", native.job_event),
        batch_event=getattr(module, "batch_event", native.batch_event),
    )


def _shapes_module(dialect: str) -> ModuleType | None:
    name = f"api_stub.{dialect}.shapes"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # Only a missing dialect or shapes module means "none"; a shapes module that
        # fails to import something of its own is a bug, and raises.
        if exc.name in (name, f"api_stub.{dialect}"):
            return None
        raise
