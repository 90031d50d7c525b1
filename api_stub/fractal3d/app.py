"""The fractal3d dialect as an app of its own, mounted at /api: its own error shapes,
its own door (auth, rate limits, audit), its own OpenAPI page at /api/docs."""

from __future__ import annotations

from fastapi import FastAPI

from api_stub.fractal3d import routes
from api_stub.fractal3d.errors import install_error_handlers
from api_stub.fractal3d.gate import Gate

MOUNT_PATH = "/api"


def create_fractal3d_app() -> FastAPI:
    app = FastAPI(
        title="jobfarm · fractal3d dialect",
        version="0.1.0",
        description="Files, CAD conversion (e3dx/e2dx) and thumbnails, as fractal3d's API.",
    )
    install_error_handlers(app)
    app.include_router(routes.router)
    app.add_middleware(Gate)
    return app
