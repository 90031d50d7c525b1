"""The farm's HTTP application."""

from __future__ import annotations

from fastapi import FastAPI

from api_stub.content import generation as content_generation
from api_stub.content import routes as content_routes
from api_stub.fractal3d.app import MOUNT_PATH, create_fractal3d_app
from api_stub.json_body import JsonBodyMiddleware
from api_stub.native import files, health, jobs, webhooks
from api_stub.problems import install_problem_handlers
from api_stub.request_id import RequestIdMiddleware
from api_stub.smartmanu import progress as smartmanu_progress
from api_stub.smartmanu import routes as smartmanu_routes
from config.logging import setup_logging
from config.settings import get_settings


def create_app() -> FastAPI:
    """Build the API: native routes (problem+json errors, OpenAPI at /docs), the fractal3d
    dialect under /api, and request ids on everything."""
    settings = get_settings()
    setup_logging(settings)
    app = FastAPI(
        title="jobfarm",
        version="0.1.0",
        description="Submit long-running jobs, poll them, receive signed webhooks.",
    )
    install_problem_handlers(app)
    # The content dialect's /api/v1 routes come before fractal3d's /api mount, which
    # would otherwise take every path under /api.
    routers = (jobs, files, webhooks, health, smartmanu_routes, smartmanu_progress)
    for module in (*routers, content_routes, content_generation):
        app.include_router(module.router)
    app.mount(MOUNT_PATH, create_fractal3d_app())
    app.add_middleware(JsonBodyMiddleware)
    app.add_middleware(RequestIdMiddleware)
    return app
