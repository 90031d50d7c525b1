"""The garbage collector's view of a long-running process's heap."""

from __future__ import annotations

import gc


def freeze_loaded_objects(first_time_only: bool = False) -> None:
    """Move every object alive now (modules, classes, settings: what a process loads at
    start and keeps for its life) out of the collector's generations. A full collection
    walks every tracked object; a request that builds a 10,000-task batch triggers
    several, and each walked these hundreds of thousands of objects again (a fifth of
    the batch's time). Frozen before a fork, the children inherit them frozen.
    `first_time_only` does nothing in a process that froze before (a test process
    building many apps would otherwise keep every test's objects for good)."""
    if first_time_only and gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()
