"""Logging set-up shared by every role of the farm."""

from __future__ import annotations

import logging

from config.settings import Settings

LOG_FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"


def setup_logging(settings: Settings) -> None:
    """Send the farm's logs to stderr at the configured level."""
    logging.basicConfig(level=settings.log_level.upper(), format=LOG_FORMAT)
