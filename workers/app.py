"""The farm's Celery app. Workers, beat and Flower all load this module."""

from __future__ import annotations

from celery import Celery

from config.celery import celery_config
from config.settings import get_settings

app = Celery(
    "jobfarm",
    include=["workers.runner", "workers.delivery", "workers.maintenance", "workers.dispatch"],
)
app.conf.update(celery_config(get_settings()))

import workers.signals  # noqa: E402,F401  (wires the signal handlers)
