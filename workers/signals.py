"""Every Celery signal handler of the farm, in one place."""

from __future__ import annotations

from typing import Any

from celery.signals import setup_logging, task_received, worker_init, worker_process_init

from config.heap import freeze_loaded_objects
from config.logging import setup_logging as configure_logging
from config.settings import get_settings
from workers.broker import declare_topology
from workers.progress import TASK_EVENTS_FIELD, sends_task_events
from workers.resources import cap_data_memory, forget_inherited, warm_blob_store


@worker_init.connect
def _declare_the_brokers_queues(sender: Any, **_: Any) -> None:
    declare_topology(sender.app)


@worker_process_init.connect
def _fresh_connections_in_child(**_: Any) -> None:
    forget_inherited()


@worker_init.connect
def _load_the_blob_store_before_forking(**_: Any) -> None:
    # Children inherit boto3 loaded and its models read; each then makes its own client.
    warm_blob_store()


@worker_process_init.connect
def _blob_store_ready_in_child(**_: Any) -> None:
    warm_blob_store()


@worker_process_init.connect
def _cap_job_memory(**_: Any) -> None:
    cap_data_memory(get_settings().job_memory_limit_mib)


# Connected after the loading above (Celery calls a signal's receivers in the order
# they were connected), so that what it loaded is frozen too.
@worker_init.connect
def _freeze_what_the_main_process_loaded(**_: Any) -> None:
    freeze_loaded_objects()


@worker_process_init.connect
def _freeze_what_the_child_loaded(**_: Any) -> None:
    freeze_loaded_objects()


@task_received.connect
def _tell_the_task_whether_events_go_out(sender: Any, request: Any, **_: Any) -> None:
    # The main process knows (Flower may have turned them on); the pool process that
    # runs the task reads it from the request it is handed.
    request.request_dict[TASK_EVENTS_FIELD] = sends_task_events(sender.event_dispatcher)


@setup_logging.connect
def _farm_logging(**_: Any) -> None:
    configure_logging(get_settings())
