"""The Celery side of the farm: app, runner, webhook delivery, upkeep."""
