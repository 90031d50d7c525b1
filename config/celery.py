"""The Celery configuration, derived from the settings."""

from __future__ import annotations

from typing import Any

from kombu import Exchange, Queue

from config.settings import Settings

LONG_QUEUES = ("cad", "render", "design", "media")
SHORT_QUEUES = ("webhooks", "maintenance")
ALL_QUEUES = LONG_QUEUES + SHORT_QUEUES

# Longest possible wait on a retry countdown beyond the hard limit, so Redis
# never hands an unacknowledged message to a second worker while the first runs it.
VISIBILITY_MARGIN_S = 3600


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings for the farm's app: late acks, one message at a time, no results."""
    visibility_timeout = settings.longest_hard_limit_s() + VISIBILITY_MARGIN_S
    return {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": visibility_timeout,
            "socket_connect_timeout": 3,
            "socket_timeout": 10,
        },
        "task_queues": [Queue(name, Exchange(name), routing_key=name) for name in ALL_QUEUES],
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
        "beat_schedule": {
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
        },
    }
