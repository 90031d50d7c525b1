"""The gate in front of every dialect's routes.

In order: refuse a body declared larger than the route takes; for a call whose
signature covers its body (`Dialect.signs_body`), read that body now; identify the caller
(one short read, nothing held afterwards); take a token from each of its rate
buckets (before the 401, so guessing credentials is throttled per IP); refuse a
caller without credentials; count the request against its tenant's caps on open
uploads and waiting requests; read a JSON body whole within its size and deadline,
or watch a streamed one. Every answer carries the caller's `X-RateLimit-*`, and
every refusal comes in the dialect's shape. After a call with a caller, the
dialect's `after_call` hook runs (fractal3d audits there).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace

from fastapi import Request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette._utils import get_route_path
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api_stub.admission import Admission
from api_stub.callers import Principal
from api_stub.dialect import BODY_METHODS, BodyPolicy, Call, Dialect
from api_stub.errors import (
    ApiError,
    Forbidden,
    PayloadTooLarge,
    RequestTimeout,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
)
from api_stub.ratelimit import Verdict, limiter
from config.settings import Settings, get_settings
from storage.db import read_scope

log = logging.getLogger(__name__)

DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeout)
ADMISSION = Admission()


class Gate:
    """ASGI middleware around one dialect's app."""

    def __init__(self, app: ASGIApp, dialect: Dialect) -> None:
        self.app, self.dialect = app, dialect
        # A thread hop costs more than a no-op hook: only a dialect's own is called.
        self.audits = type(dialect).after_call is not Dialect.after_call

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        call = call_of(scope)
        verdict: Verdict | None = None
        held: tuple[str, str] | None = None
        try:
            policy = self.dialect.body_policy(call, settings)
            refuse_declared_length(call, policy)
            early = await signed_body(receive, policy, call, self.dialect.signs_body(call))
            call = replace(call, body=early)
            principal, refusal, verdict = await run_in_threadpool(
                self._caller_and_verdict, settings, call
            )
            self._check(principal, call, verdict, refusal)
            held = self._admit(principal, call, settings)
            if early is not None and call.method in BODY_METHODS and not policy.streamed:
                receive = replayed(early, receive)
            else:
                receive = await body_reader(receive, policy, call)
        except ApiError as error:
            if held:
                ADMISSION.leave(*held)
            await self._refuse(error, verdict, scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        try:
            status = await self._forward(scope, receive, send, verdict)
        finally:
            if held:
                ADMISSION.leave(*held)
        if self.audits and principal is not None and 200 <= status < 400:
            await run_in_threadpool(self.dialect.after_call, principal, Request(scope), status)

    def _caller_and_verdict(
        self, settings: Settings, call: Call
    ) -> tuple[Principal | None, ApiError | None, Verdict | None]:
        """The caller (or its refusal) and its rate-limit verdict, in one thread hop:
        both block (SQL, Redis) and each hop costs as much CPU as a short query."""
        principal, refusal = self._identify(settings, call)
        return principal, refusal, self._take(principal, call, settings)

    def _identify(self, settings: Settings, call: Call) -> tuple[Principal | None, ApiError | None]:
        """The caller, or the refusal `identify` raised for credentials it could not
        accept (answered after the rate limit, so it is throttled like a 401)."""
        try:
            with read_scope(settings.sql_url) as session:
                return self.dialect.identify(session, settings, call), None
        except (Unauthenticated, Forbidden) as refusal:
            return None, refusal
        except DATABASE_DOWN as exc:
            log.warning("database unavailable: %s", getattr(exc, "orig", exc))
            raise Unavailable() from None

    def _take(self, principal: Principal | None, call: Call, settings: Settings) -> Verdict | None:
        buckets = self.dialect.rate_limits(principal, call, settings)
        return limiter().take_all(buckets) if buckets else None

    def _check(
        self,
        principal: Principal | None,
        call: Call,
        verdict: Verdict | None,
        refusal: ApiError | None = None,
    ) -> None:
        if verdict is not None and not verdict.allowed:
            raise TooManyRequests(retry_after_s=verdict.retry_after_s)
        if refusal is not None:
            if isinstance(refusal, Unauthenticated):
                refusal.headers.update(self.dialect.unauthenticated_headers())
            raise refusal
        if principal is None and not self.dialect.is_public(call.path):
            raise Unauthenticated(headers=self.dialect.unauthenticated_headers())

    def _admit(
        self, principal: Principal | None, call: Call, settings: Settings
    ) -> tuple[str, str] | None:
        kind = self.dialect.admission_class(call)
        if kind is None or principal is None:
            return None
        uploads = kind == "upload"
        cap = settings.max_uploads_per_tenant if uploads else settings.max_waiting_per_tenant
        if not ADMISSION.enter(principal.tenant_id, kind, cap):
            what = "uploads in flight" if uploads else "requests waiting for their jobs"
            raise TooManyRequests(f"too many {what} at once (at most {cap})", retry_after_s=1)
        return principal.tenant_id, kind

    async def _forward(
        self, scope: Scope, receive: Receive, send: Send, verdict: Verdict | None
    ) -> int:
        status = 0

        async def labelled(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if verdict is not None:
                    MutableHeaders(scope=message).update(verdict.headers())
            await send(message)

        await self.app(scope, receive, labelled)
        return status

    async def _refuse(
        self, error: ApiError, verdict: Verdict | None, scope: Scope, receive: Receive, send: Send
    ) -> None:
        response = self.dialect.render(Request(scope), error)
        if verdict is not None:
            response.headers.update(verdict.headers())
        await response(scope, receive, send)


def call_of(scope: Scope) -> Call:
    client = scope.get("client")
    return Call(
        method=scope["method"],
        path=get_route_path(scope),
        client_ip=client[0] if client else "unknown",
        headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
        query=scope.get("query_string", b"").decode("latin-1"),
    )


def refuse_declared_length(call: Call, policy: BodyPolicy) -> None:
    """413 before anything is read when Content-Length already says too much."""
    declared = call.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise PayloadTooLarge(f"the body may be at most {policy.max_bytes} bytes here")


async def signed_body(
    receive: Receive, policy: BodyPolicy, call: Call, signs: bool
) -> bytes | None:
    """For a call whose signature covers its body: the buffered body, read now within
    its size and deadline (b"" for a bodiless method or a streamed upload, whose
    content is not signed). None for every other call: its body is read after the
    caller is known."""
    if not signs:
        return None
    if call.method not in BODY_METHODS or policy.streamed:
        return b""
    return await read_whole(receive, policy)


async def body_reader(receive: Receive, policy: BodyPolicy, call: Call) -> Receive:
    """The `receive` the route gets: a buffered body read now and replayed, a streamed
    one watched as the route reads it, or `receive` itself for bodiless methods."""
    if call.method not in BODY_METHODS:
        return receive
    if policy.streamed:
        return watched(receive, policy)
    body = await read_whole(receive, policy)
    return replayed(body, receive)


async def read_whole(receive: Receive, policy: BodyPolicy) -> bytes:
    """The whole body, or 413 past `max_bytes` and 408 past `deadline_s`."""
    deadline = time.monotonic() + policy.deadline_s
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        try:
            message = await asyncio.wait_for(receive(), max(remaining, 0.001))
        except TimeoutError:
            raise RequestTimeout(
                f"the body did not arrive within {policy.deadline_s:g} s"
            ) from None
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > policy.max_bytes:
            raise PayloadTooLarge(f"the body may be at most {policy.max_bytes} bytes here")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def replayed(body: bytes, receive: Receive) -> Receive:
    given = False

    async def receive_again() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


def watched(receive: Receive, policy: BodyPolicy) -> Receive:
    """`receive` for a streamed body: 413 past `max_bytes`; 408 after `idle_s` without a
    byte, or when, past `idle_s`, the body averages under `min_bytes_per_s`."""
    started = time.monotonic()
    size = 0
    done = False

    async def receive_watched() -> Message:
        nonlocal size, done
        if done:
            return await receive()
        try:
            message = await asyncio.wait_for(receive(), policy.idle_s)
        except TimeoutError:
            raise RequestTimeout(f"no byte of the body arrived for {policy.idle_s:g} s") from None
        if message["type"] != "http.request":
            done = True
            return message
        size += len(message.get("body", b""))
        done = not message.get("more_body")
        if size > policy.max_bytes:
            raise PayloadTooLarge(f"the body may be at most {policy.max_bytes} bytes here")
        elapsed = time.monotonic() - started
        floor = policy.min_bytes_per_s * elapsed
        if not done and elapsed > policy.idle_s and size < floor:
            raise RequestTimeout(
                f"the body arrives slower than {policy.min_bytes_per_s:g} bytes a second"
            )
        return message

    return receive_watched
