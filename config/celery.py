"""The Celery configuration, derived from the settings."""

from __future__ import annotations

from typing import Any

from kombu import Exchange, Queue

from config.settings import Settings

LONG_QUEUES = ("cad", "render", "design", "media")
SHORT_QUEUES = ("webhooks",)
# Upkeep has workers of its own, so that a reconcile never waits behind webhooks.
MAINTENANCE_QUEUES = ("maintenance",)
ALL_QUEUES = LONG_QUEUES + SHORT_QUEUES + MAINTENANCE_QUEUES

# Longest possible wait on a retry countdown beyond the hard limit, so Redis
# never hands an unacknowledged message to a second worker while the first runs it.
VISIBILITY_MARGIN_S = 3600


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings for the farm's app: late acks, one message at a time, no results."""
    return {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        **(amqp_broker() if settings.broker_is_amqp else redis_broker(settings)),
        "task_default_queue": "maintenance",
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_ignore_result": True,
        "result_backend": None,
        "worker_prefetch_multiplier": 1,
        # Off by default: Flower turns the workers' task events on while it runs.
        "worker_send_task_events": settings.task_events,
        "task_send_sent_event": settings.task_events,
        "worker_max_memory_per_child": settings.worker_max_memory_kib,
        "worker_hijack_root_logger": False,
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
        "beat_schedule": beat_schedule(settings),
    }


def redis_broker(settings: Settings) -> dict[str, Any]:
    """Redis: a message delivered and not acknowledged within the visibility timeout is
    handed to another worker, so the timeout outlasts the longest job and its retries."""
    visibility_timeout = settings.longest_hard_limit_s() + VISIBILITY_MARGIN_S
    return {
        "broker_transport_options": {
            "visibility_timeout": visibility_timeout,
            "socket_connect_timeout": 3,
            "socket_timeout": 10,
        },
        "task_queues": [Queue(name, Exchange(name), routing_key=name) for name in ALL_QUEUES],
    }


def amqp_broker() -> dict[str, Any]:
    """RabbitMQ: durable quorum queues (replicated, never losing a confirmed message),
    publisher confirms, and no visibility timeout: a late-acknowledged message stays
    with its worker while the worker's connection lives, however long the job runs
    (up to the broker's `consumer_timeout`, which must outlast the longest job).
    Topic exchanges, so that Celery carries countdowns on quorum queues by its native
    delayed delivery instead of holding them in a worker."""
    return {
        "broker_transport_options": {"confirm_publish": True, "connect_timeout": 3},
        "broker_heartbeat": 30,
        "task_queues": [
            Queue(
                name,
                Exchange(name, type="topic"),
                routing_key=name,
                queue_arguments={"x-queue-type": "quorum"},
            )
            for name in ALL_QUEUES
        ],
    }


def beat_schedule(settings: Settings) -> dict[str, Any]:
    return {
        "reconcile-jobs": {
            "task": "workers.maintenance.reconcile",
            "schedule": settings.reconcile_interval_s,
            "options": {"queue": "maintenance", "expires": settings.reconcile_interval_s},
        },
        "purge-expired": {
            "task": "workers.maintenance.purge_expired",
            "schedule": settings.purge_interval_s,
            "options": {"queue": "maintenance", "expires": settings.purge_interval_s},
        },
    }
