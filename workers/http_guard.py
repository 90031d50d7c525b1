"""Outbound HTTP for URLs that clients give us, with an SSRF guard.

The guard checks the address a connection is actually made to, after DNS
resolution and on every redirect hop, so neither a hostname that resolves to an
internal address nor a redirect to one gets through.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

AddressCheck = Callable[[str], bool]
MAX_REDIRECTS = 5


class ForbiddenAddress(Exception):
    """The URL leads to an address this farm does not connect to."""


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
    addresses = [str(info[4][0]) for info in infos]
    refused = [a for a in addresses if not allowed(a)]
    if refused or not addresses:
        raise ForbiddenAddress(f"{host} resolves to a non-public address ({refused[0]})")
    return addresses[0]


def _guarded(connection_cls: type[HTTPConnection], allowed: AddressCheck) -> type[HTTPConnection]:
    class GuardedConnection(connection_cls):  # type: ignore[valid-type,misc]
        def _new_conn(self) -> socket.socket:
            # Connect to the checked address; TLS still verifies against the hostname.
            host: str = self._dns_host  # type: ignore[has-type]
            self._dns_host = resolve_checked(host, self.port, allowed)
            try:
                return super()._new_conn()
            finally:
                self._dns_host = host

    return GuardedConnection


class GuardedAdapter(HTTPAdapter):
    """An adapter whose connection pools refuse addresses `allowed` rejects."""

    def __init__(self, allowed: AddressCheck, **kwargs: Any) -> None:
        self._allowed = allowed
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(guarded_pools(self._allowed))


@lru_cache(maxsize=8)
def guarded_pools(allowed: AddressCheck) -> dict[str, type[HTTPConnectionPool]]:
    """The pool classes, by scheme, whose connections refuse what `allowed` rejects.

    Made once per check and process: building four classes was most of the cost of
    the session every job gets, HTTP or not.
    """
    http_conn = _guarded(HTTPConnection, allowed)
    https_conn = _guarded(HTTPSConnection, allowed)
    return {
        "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
        "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
    }


def client_session(guard: bool, allowed: AddressCheck = is_public_address) -> requests.Session:
    """A session for client-supplied URLs: no proxies from the environment, few
    redirects, and with `guard` only public addresses."""
    session = requests.Session()
    session.trust_env = False
    session.max_redirects = MAX_REDIRECTS
    if guard:
        adapter = GuardedAdapter(allowed)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session
