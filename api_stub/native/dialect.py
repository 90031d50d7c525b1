"""The farm's own API: `/v1/...`, `/healthz`, `/docs`, and whatever path no other
dialect owns. Callers present a farm API key as `Authorization: Bearer`; errors are
RFC 9457 problem+json."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from api_stub.dialect import Dialect
from api_stub.errors import ApiError
from api_stub.native import files, health, jobs, webhooks
from api_stub.problems import Problem, problem_of, problem_response
from storage.urls import DOWNLOAD_PATH


class Native(Dialect):
    name = "native"
    title = "jobfarm"
    prefixes = ("",)
    public_paths = ("/healthz", "/docs", "/docs/oauth2-redirect", "/openapi.json", DOWNLOAD_PATH)
    upload_paths = ("/v1/files",)

    def routers(self) -> list[APIRouter]:
        return [jobs.router, files.router, webhooks.router, health.router]

    def install(self, app: FastAPI) -> None:
        async def problem(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, Problem)
            return problem_response(request, exc)

        app.add_exception_handler(Problem, problem)

    def error_response(self, request: Request, error: ApiError) -> Response:
        return problem_response(request, problem_of(error))


DIALECT = Native()
