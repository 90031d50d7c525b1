"""Every Celery signal handler of the farm, in one place."""

from __future__ import annotations

from typing import Any

from celery.signals import setup_logging, worker_process_init

from config.logging import setup_logging as configure_logging
from config.settings import get_settings
from workers.resources import cap_data_memory, forget_inherited


@worker_process_init.connect
def _fresh_connections_in_child(**_: Any) -> None:
    forget_inherited()


@worker_process_init.connect
def _cap_job_memory(**_: Any) -> None:
    cap_data_memory(get_settings().job_memory_limit_mib)


@setup_logging.connect
def _farm_logging(**_: Any) -> None:
    configure_logging(get_settings())
