"""The states of a webhook delivery, and which of them make up the dead-letter list."""

from __future__ import annotations

from enum import StrEnum


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # an attempt is due or in flight
    DELIVERED = "delivered"  # a 2xx answer came back; final until replayed
    FAILED = "failed"  # out of attempts, or refused for good (410, a forbidden address)
    STOPPED = "stopped"  # its endpoint was disabled or deleted before it got through


# The dead-letter list: deliveries that will not be sent again unless replayed.
DEAD = frozenset({DeliveryStatus.FAILED, DeliveryStatus.STOPPED})
# The words a delivery list or a replay may filter on: a status, or `dead` for both.
STATUS_FILTERS = frozenset({*DeliveryStatus, "dead"})


def statuses_of(word: str) -> frozenset[DeliveryStatus]:
    """The statuses a filter word names: `dead` is failed and stopped."""
    return DEAD if word == "dead" else frozenset({DeliveryStatus(word)})
