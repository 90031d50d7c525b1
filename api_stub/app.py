"""The farm's HTTP application: the front door over every dialect."""

from __future__ import annotations

from starlette.types import ASGIApp

from api_stub.front_door import FrontDoor, discover
from api_stub.json_body import JsonBodyMiddleware
from api_stub.request_id import RequestIdMiddleware
from config.heap import freeze_loaded_objects
from config.logging import setup_logging
from config.settings import get_settings


def create_app() -> ASGIApp:
    """Build the API: each dialect of `api_stub` as an app of its own behind the front
    door (native at /v1, /healthz and /docs; the others under their prefixes), JSON
    bodies read as JSON whatever curl calls them, and request ids on everything. What
    it loaded is frozen out of the garbage collector's walks."""
    setup_logging(get_settings())
    app: ASGIApp = FrontDoor(discover())
    app = RequestIdMiddleware(JsonBodyMiddleware(app))
    freeze_loaded_objects(first_time_only=True)
    return app
