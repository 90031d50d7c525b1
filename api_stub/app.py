"""The farm's HTTP application: the front door over every dialect."""

from __future__ import annotations

from starlette.types import ASGIApp

from api_stub.front_door import FrontDoor, discover
from api_stub.json_body import JsonBodyMiddleware
from api_stub.request_id import RequestIdMiddleware
from config.logging import setup_logging
from config.settings import get_settings


def create_app() -> ASGIApp:
    """Build the API: each dialect of `api_stub` as an app of its own behind the front
    door (native at /v1, /healthz and /docs; the others under their prefixes), JSON
    bodies read as JSON whatever curl calls them, and request ids on everything."""
    setup_logging(get_settings())
    app: ASGIApp = FrontDoor(discover())
    app = JsonBodyMiddleware(app)
    return RequestIdMiddleware(app)
