"""Outbound HTTP for URLs that clients give us: an SSRF guard and a total deadline.

The guard checks the address a connection is actually made to, after DNS
resolution and on every redirect hop, so neither a hostname that resolves to an
internal address nor a redirect to one gets through.

The deadline bounds a whole request, however slowly the peer trickles: connecting,
the response's headers and its body, every redirect hop included. A socket timeout
only bounds each read, and a peer sending one byte per read-timeout would hold the
caller forever; so each request is given a monotonic deadline, at which a timer shuts
its sockets down under whatever read is blocked on them.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

AddressCheck = Callable[[str], bool]
MAX_REDIRECTS = 5
# A request that names no timeout still ends; every caller in the farm names one.
DEFAULT_TOTAL_S = 60.0
Timeout = float | tuple[float, float] | None


class ForbiddenAddress(Exception):
    """The URL leads to an address this farm does not connect to."""


class DeadlineExceeded(requests.Timeout):
    """The request was not over (connected, answered and read) by its deadline."""


class Deadline:
    """The monotonic instant by which one request must be over, and the connections it
    must cut then. A connection is cut only while it still serves this deadline's
    request: one handed back to the pool and reused answers to the next deadline."""

    def __init__(self, total_s: float) -> None:
        self.total_s = total_s
        self.ends_at = time.monotonic() + total_s
        self.expired = False
        self._lock = threading.Lock()
        self._watched: list[tuple[object, socket.socket]] = []
        self._timer = threading.Timer(total_s, self._cut)
        self._timer.daemon = True

    def remaining(self) -> float:
        """Seconds left, 0 once past the deadline."""
        return max(0.0, self.ends_at - time.monotonic())

    def arm(self) -> None:
        self._timer.start()

    def watch(self, connection: object, sock: socket.socket) -> None:
        """Cut `sock` at the deadline if `connection` still serves this request then.
        A duplicate descriptor is kept, so a socket closed meanwhile is never confused
        with a new one that reused its number."""
        setattr(connection, _OWNER, self)
        with self._lock:
            if self.expired:
                _shut_down(sock)
                return
            self._watched.append((connection, socket.socket(fileno=os.dup(sock.fileno()))))

    def disarm(self) -> None:
        """The request is over: no cut, and the duplicate descriptors closed."""
        self._timer.cancel()
        self._release(cut=False)

    def _cut(self) -> None:
        self.expired = True
        self._release(cut=True)

    def _release(self, cut: bool) -> None:
        with self._lock:
            watched, self._watched = self._watched, []
        for connection, dup in watched:
            # Shutting down (not closing) wakes a read blocked on the socket in the
            # request's thread, TLS or not, with end-of-file.
            if cut and getattr(connection, _OWNER, None) is self:
                _shut_down(dup)
            dup.close()


def _shut_down(sock: socket.socket) -> None:
    # The plain socket's shutdown, under TLS too: the TLS one would drop its state
    # while the request's thread may be reading through it.
    with contextlib.suppress(OSError):  # already closed or reset: nothing left to cut
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_OWNER = "_jobfarm_deadline"
_current = threading.local()


def current_deadline() -> Deadline | None:
    """The deadline of the request this thread is making, if any."""
    return getattr(_current, "deadline", None)


def split_timeout(timeout: Timeout) -> tuple[float, float]:
    """(connect, total) seconds of a requests-style `timeout`: a number bounds both, a
    pair is (connect, total), None is `DEFAULT_TOTAL_S`."""
    if timeout is None:
        return DEFAULT_TOTAL_S, DEFAULT_TOTAL_S
    if isinstance(timeout, tuple):
        connect, total = timeout
        return min(connect, total), total
    return timeout, timeout


def is_public_address(address: str) -> bool:
    """True for globally routable unicast addresses; False for loopback, private,
    link-local (cloud metadata), shared, reserved and multicast ones."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve_checked(host: str, port: int, allowed: AddressCheck) -> str:
    """One address of `host`, after checking that every address it resolves to is allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ForbiddenAddress(f"cannot resolve {host}: {exc}") from exc
    except UnicodeError:  # a label longer than DNS allows (63 characters)
        raise ForbiddenAddress(f"cannot resolve {host[:80]}: not a valid host name") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise ForbiddenAddress(f"{host} resolves to no address")
    refused = [a for a in addresses if not allowed(a)]
    if refused:
        raise ForbiddenAddress(f"{host} resolves to a non-public address ({refused[0]})")
    return addresses[0]


def _guarded(
    connection_cls: type[HTTPConnection], allowed: AddressCheck | None
) -> type[HTTPConnection]:
    class GuardedConnection(connection_cls):  # type: ignore[valid-type,misc]
        def _new_conn(self) -> socket.socket:
            deadline = current_deadline()
            if deadline is not None:
                self.timeout = _within(self.timeout, deadline)  # type: ignore[has-type]
            host: str = self._dns_host  # type: ignore[has-type]
            if allowed is not None:
                # Connect to the checked address; TLS still verifies against the hostname.
                self._dns_host = resolve_checked(host, self.port, allowed)
            try:
                sock: socket.socket = super()._new_conn()
            finally:
                self._dns_host = host
            if deadline is not None:
                deadline.watch(self, sock)
            return sock

        def request(self, *args: Any, **kwargs: Any) -> None:
            deadline = current_deadline()
            if deadline is not None and self.sock is not None:
                # A pooled connection, reused: it now serves this request's deadline.
                self.timeout = _within(self.timeout, deadline)
                deadline.watch(self, self.sock)
            super().request(*args, **kwargs)

    return GuardedConnection


def _within(timeout: object, deadline: Deadline) -> float:
    """A socket timeout no later than `deadline`; `DeadlineExceeded` once past it."""
    remaining = deadline.remaining()
    if remaining <= 0:
        raise DeadlineExceeded(f"no time left of {deadline.total_s:g} s")
    return min(timeout if isinstance(timeout, int | float) else math.inf, remaining)


class GuardedAdapter(HTTPAdapter):
    """An adapter whose connections keep to their request's deadline and, given
    `allowed`, refuse the addresses it rejects."""

    def __init__(self, allowed: AddressCheck | None, **kwargs: Any) -> None:
        self._allowed = allowed
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(guarded_pools(self._allowed))


@lru_cache(maxsize=8)
def guarded_pools(allowed: AddressCheck | None) -> dict[str, type[HTTPConnectionPool]]:
    """The pool classes, by scheme, whose connections keep to their request's deadline
    and refuse what `allowed` rejects (None: no address is refused).

    Made once per check and process: building four classes was most of the cost of
    the session every job gets, HTTP or not.
    """
    http_conn = _guarded(HTTPConnection, allowed)
    https_conn = _guarded(HTTPSConnection, allowed)
    return {
        "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
        "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
    }


class DeadlineSession(requests.Session):
    """A session each of whose requests is over by its deadline: the request's
    `timeout` (a number, or a (connect, total) pair) bounds the whole request, not each
    read. A non-streamed request is over when it returns; a streamed one when its
    response is closed, or at the deadline. Past the deadline, `DeadlineExceeded`."""

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        connect_s, total_s = split_timeout(kwargs.get("timeout"))
        kwargs["timeout"] = (connect_s, total_s)
        deadline = Deadline(total_s)
        outer, _current.deadline = current_deadline(), deadline
        deadline.arm()
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.RequestException as exc:
            deadline.disarm()
            if deadline.expired and not isinstance(exc, DeadlineExceeded):
                raise DeadlineExceeded(f"not over within {total_s:g} s") from exc
            raise
        finally:
            _current.deadline = outer
        if kwargs.get("stream"):
            _disarm_on_close(response, deadline)
        else:
            deadline.disarm()
        return response


def _disarm_on_close(response: requests.Response, deadline: Deadline) -> None:
    close = response.close

    def close_and_disarm() -> None:
        try:
            close()
        finally:
            deadline.disarm()

    # The body of a streamed response is read after `request` returns: the deadline
    # keeps watching its connection until the caller is done with it.
    response.close = close_and_disarm  # type: ignore[method-assign]


def client_session(guard: bool, allowed: AddressCheck = is_public_address) -> requests.Session:
    """A session for client-supplied URLs: every request over by its `timeout` (see
    `DeadlineSession`), no proxies from the environment, few redirects, and with
    `guard` only public addresses."""
    session = DeadlineSession()
    session.trust_env = False
    session.max_redirects = MAX_REDIRECTS
    adapter = GuardedAdapter(allowed if guard else None)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
