"""Connect to the address that was checked.

Checking a host's addresses and then letting the HTTP client look the host up again leaves a
window (DNS rebinding): the check sees a public address, the connection gets 127.0.0.1. Here a
host is looked up once per crawl, every address it answers is vetted, and the connection goes to
those addresses: `PinnedBackend` is an httpcore network backend that never resolves by itself.
The URL keeps its host name, so the Host header and TLS SNI (httpcore takes both from the
request, not from the socket) stay right.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable

import httpcore
import httpx
from httpcore._backends.auto import AutoBackend

# (host, port) -> the addresses it resolves to; raises OSError (socket.gaierror) when it cannot.
Resolver = Callable[[str, int], Awaitable[list[str]]]


class AddressRefused(Exception):
    """The host must not be fetched; `code` is the reason code of its pages rows."""

    code = "address_refused"


class PrivateAddressError(AddressRefused):
    """The host resolves to a private, loopback, link-local or otherwise non-public address."""

    code = "private_address"


class UnresolvableHostError(AddressRefused):
    """The host name does not resolve (nothing to vet, so nothing is connected to)."""

    code = "dns_error"


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0].split("%", 1)[0] for info in infos))


def non_public_kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind in ("loopback", "link_local", "private", "multicast", "reserved", "unspecified"):
        if getattr(ip, f"is_{kind}"):
            return kind
    return None


def _literal_ip(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


class AddressBook:
    """One lookup per (host, port) for the whole crawl; the vetted addresses, or why there are none."""

    def __init__(self, allow_private: bool, resolver: Resolver | None = None):
        self.allow_private = allow_private
        self.resolver = resolver or system_resolver
        self._answers: dict[tuple[str, int], list[str] | AddressRefused] = {}
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to; raises AddressRefused (cached, so the answer never changes)."""
        key = (host.lower(), port)
        if key not in self._answers:
            async with self._locks.setdefault(key, asyncio.Lock()):
                if key not in self._answers:
                    self._answers[key] = await self._lookup(*key)
        answer = self._answers[key]
        if isinstance(answer, AddressRefused):
            raise answer
        return answer

    async def _lookup(self, host: str, port: int) -> list[str] | AddressRefused:
        literal = _literal_ip(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                addresses = await self.resolver(host, port)
            except (OSError, UnicodeError) as exc:
                return UnresolvableHostError(f"{host} does not resolve ({exc})")
            if not addresses:
                return UnresolvableHostError(f"{host} does not resolve (no addresses)")
        if not self.allow_private:
            refused = self._first_non_public(host, addresses)
            if refused:
                return refused
        return addresses

    @staticmethod
    def _first_non_public(host: str, addresses: Iterable[str]) -> PrivateAddressError | None:
        for address in addresses:
            ip = ipaddress.ip_address(address)
            kind = non_public_kind(ip)
            if kind:
                return PrivateAddressError(f"{host} resolves to {ip} ({kind.replace('_', '-')})")
        return None


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to the addresses the AddressBook vetted for the host."""

    def __init__(self, book: AddressBook):
        self.book = book
        self._inner = AutoBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses = await self.book.addresses(host, port)
        error: Exception | None = None
        for address in addresses:  # the next vetted address when one does not answer
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        return await self._inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, with its connection pool opening sockets through PinnedBackend.

    httpx does not take a network backend as an argument, so the pool it built is replaced by an
    identical one (same TLS context and limits) that has ours."""

    def __init__(self, book: AddressBook, limits: httpx.Limits):
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=self._pool._ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(book),
        )
