"""A dialect: one client platform's API, declared once.

A dialect names the paths it owns, how its callers authenticate, its rate-limit
policy, its body limits and its error shape; its routes live beside it in its
package, and its status words and webhook bodies in the package's `shapes.py`.
Every hook below is a documented default a dialect overrides only where its seed
differs. `api_stub.front_door` gives each dialect an app of its own, so every
response under its prefixes (unknown paths, wrong methods, a database outage, an
unexpected exception) comes in its shape. Adding a dialect is one package with a
`dialect.py` that exposes `DIALECT`; nothing else is edited.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from api_stub import callers
from api_stub.callers import Principal
from api_stub.errors import ApiError
from config.settings import RateLimit, Settings

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class BodyPolicy:
    """How much of a request body a route takes, and how long it may take to arrive.

    A buffered body (JSON) is read whole by the gate, up to `max_bytes` within
    `deadline_s`, before the route runs. A streamed body (an upload) is read by the
    route; it fails once `idle_s` pass without a byte, or once, after `idle_s`, it
    averages under `min_bytes_per_s`.
    """

    max_bytes: int
    deadline_s: float = 30.0
    streamed: bool = False
    idle_s: float = 30.0
    min_bytes_per_s: float = 0.0


@dataclass(frozen=True)
class Call:
    """What the gate knows of a request before the route runs."""

    method: str
    path: str  # relative to the dialect's mount
    client_ip: str
    headers: dict[str, str]
    query: str = ""
    # The buffered body, read before `identify` only for calls that sign it.
    body: bytes | None = None


class Dialect:
    """Base class of the dialects. Subclasses set the attributes and override hooks."""

    name: str = ""
    title: str = ""
    # Paths the dialect owns: a request goes to the dialect with the longest prefix
    # equal to its path or followed by "/" in it. "" owns whatever no one else does.
    prefixes: tuple[str, ...] = ()
    # Stripped from the path before routing: the dialect's routes are relative to it.
    mount: str = ""
    # Where its OpenAPI schema and docs page are served, relative to `mount`.
    openapi_url: str = "/openapi.json"
    docs_url: str | None = "/docs"
    # Paths (relative to `mount`) that take no credentials; a trailing "/" is a prefix.
    public_paths: tuple[str, ...] = ()
    # Paths whose requests wait for their job: each tenant may have only so many open.
    waiting_paths: tuple[str, ...] = ()
    # Paths that stream an upload body.
    upload_paths: tuple[str, ...] = ()
    realm: str = "jobfarm"

    def routers(self) -> list[APIRouter]:
        """The dialect's routes."""
        return []

    def install(self, app: FastAPI) -> None:
        """Add exception handlers for errors only this dialect raises. Default: none."""

    # ----- callers -----

    def identify(self, session: Session, settings: Settings, call: Call) -> Principal | None:
        """The caller, or None. Default: a farm API key as `Authorization: Bearer`."""
        presented = callers.bearer_token(call.headers.get("authorization"))
        return callers.by_api_key(session, presented) if presented else None

    def signs_body(self, call: Call) -> bool:
        """True when the call's credentials cover its body, which the gate then reads
        before `identify` and hands it as `call.body`. Default: never."""
        return False

    def is_public(self, path: str) -> bool:
        """True when `path` answers without credentials."""
        return any(path.startswith(p) if p.endswith("/") else path == p for p in self.public_paths)

    def rate_limits(
        self, principal: Principal | None, call: Call, settings: Settings
    ) -> list[tuple[str, RateLimit]]:
        """The token buckets a call draws from (every one must have a token).
        Default: per API key, else per client IP; public paths are free to anonymous
        callers."""
        if principal is None and self.is_public(call.path):
            return []
        if principal is None:
            return [(f"ip:{call.client_ip}", settings.rate_limit_anonymous)]
        return [(f"{self.name}:key:{principal.key_id}", settings.rate_limit_native)]

    def body_policy(self, call: Call, settings: Settings) -> BodyPolicy:
        """Default: JSON bodies up to `max_json_body_bytes`; uploads up to the farm's cap."""
        if call.path in self.upload_paths:
            return BodyPolicy(
                max_bytes=settings.max_upload_bytes,
                streamed=True,
                idle_s=settings.body_idle_timeout_s,
                min_bytes_per_s=settings.upload_min_bytes_per_s,
            )
        return BodyPolicy(
            max_bytes=settings.max_json_body_bytes, deadline_s=settings.body_deadline_s
        )

    def admission_class(self, call: Call) -> str | None:
        """Which per-tenant concurrency cap a request counts against: "upload", "wait" or
        none."""
        if call.path in self.upload_paths and call.method in BODY_METHODS:
            return "upload"
        if call.path in self.waiting_paths and call.method in BODY_METHODS:
            return "wait"
        return None

    def after_call(self, principal: Principal, request: Request, status: int) -> None:
        """Called after every call that had a caller (e.g. to audit it). Default: nothing."""

    # ----- errors -----

    def render(self, request: Request, error: ApiError) -> Response:
        """`error` in the dialect's shape, with the error's headers."""
        response = self.error_response(request, error)
        response.headers.update(error.headers)
        return response

    def error_response(self, request: Request, error: ApiError) -> Response:
        """The dialect's error body for `error`. Default: `{"message"}` with its status."""
        return JSONResponse({"message": error.message}, status_code=error.status)

    def unauthenticated_headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Bearer realm="{self.realm}"'}
