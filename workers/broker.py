"""The broker's topology, for RabbitMQ: every queue and exchange of the farm declared
when a worker starts, before Celery binds them for delayed delivery (countdowns), which
fails for an exchange nobody has declared yet."""

from __future__ import annotations

from celery import Celery

from config.settings import get_settings

DECLARE_RETRIES = 5


def declare_topology(app: Celery) -> None:
    """Declare the farm's queues (quorum) and their exchanges; a no-op on Redis."""
    if not get_settings().broker_is_amqp:
        return
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=DECLARE_RETRIES)
        channel = connection.default_channel
        for queue in app.conf.task_queues:
            queue.bind(channel).declare()
