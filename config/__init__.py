"""Settings, Celery configuration and logging for every role of the farm."""

from config.settings import Settings, TimeLimit, get_settings

__all__ = ["Settings", "TimeLimit", "get_settings"]
