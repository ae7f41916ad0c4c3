"""A polite HTTP fetcher (httpx, async): per-host delay and concurrency, retries with
exponential backoff that honour Retry-After, a total deadline per attempt, a body size cap, and
refusal of private network addresses (checked once per host, and the connection goes to the
address that was checked: see addresses.py).

Redirects are not followed here: the crawler gets the 3xx and decides (redirect limit, loops,
robots and address checks of the target), so each hop passes the same rules as any other URL.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from corpusforge.connectors.addresses import (
    AddressBook,
    AddressRefused,
    PinnedTransport,
    PrivateAddressError,
    Resolver,
    UnresolvableHostError,
)
from corpusforge.processing.urls import host_of, is_html_content_type

__all__ = ["AddressRefused", "Fetcher", "FetchPolicy", "PrivateAddressError", "Response", "UnresolvableHostError"]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 120.0  # a server asking for more than this is treated as down for this crawl


@dataclass(frozen=True)
class FetchPolicy:
    user_agent: str
    delay: float = 1.0
    concurrency_per_host: int = 2
    concurrency: int = 16
    timeout: float = 20.0
    retries: int = 3
    backoff: float = 0.5
    max_redirects: int = 5
    max_body_bytes: int = 5_000_000
    obey_robots: bool = True
    allow_private_network: bool = False


@dataclass
class Response:
    url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    truncated: bool = False
    error: str | None = None  # "reason_code: message" when no usable response arrived
    elapsed_ms: float = 0.0
    attempts: int = 1

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def location(self) -> str | None:
        return self.headers.get("location")


class HostGate:
    """At most `concurrency` requests to one host at a time, and starts at least `delay` apart."""

    def __init__(self, concurrency: int, delay: float):
        self.semaphore = asyncio.Semaphore(concurrency)
        self.delay = delay
        self._lock = asyncio.Lock()
        self._next_start = 0.0

    async def wait_turn(self) -> None:
        async with self._lock:
            now = time.monotonic()
            if self._next_start > now:
                await asyncio.sleep(self._next_start - now)
            self._next_start = time.monotonic() + self.delay

    def push_back(self, seconds: float) -> None:
        """Keep every request to this host waiting (Retry-After applies to the host, not one URL)."""
        self._next_start = max(self._next_start, time.monotonic() + seconds)


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Fetcher:
    """One per crawl; `async with Fetcher(policy) as f: await f.fetch(url)`."""

    def __init__(
        self, policy: FetchPolicy, transport: httpx.AsyncBaseTransport | None = None, resolver: Resolver | None = None
    ):
        self.policy = policy
        self._transport = transport
        self._gates: dict[str, HostGate] = {}
        self._host_delay: dict[str, float] = {}
        self.addresses = AddressBook(policy.allow_private_network, resolver)
        self.client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Fetcher:
        limits = httpx.Limits(
            max_connections=self.policy.concurrency, max_keepalive_connections=self.policy.concurrency
        )
        self.client = httpx.AsyncClient(
            headers={"User-Agent": self.policy.user_agent},
            timeout=httpx.Timeout(self.policy.timeout),
            follow_redirects=False,
            limits=limits,
            transport=self._transport or PinnedTransport(self.addresses, limits),
            trust_env=False,
        )
        return self

    async def __aexit__(self, *exc) -> None:
        await self.client.aclose()

    def set_host_delay(self, url: str, delay: float) -> None:
        """A longer delay for one host (robots.txt Crawl-delay); never shorter than the policy's."""
        host = host_of(url)
        self._host_delay[host] = max(delay, self.policy.delay)
        if host in self._gates:
            self._gates[host].delay = self._host_delay[host]

    def gate(self, url: str) -> HostGate:
        host = host_of(url)
        if host not in self._gates:
            delay = self._host_delay.get(host, self.policy.delay)
            self._gates[host] = HostGate(self.policy.concurrency_per_host, delay)
        return self._gates[host]

    async def check_address(self, url: str) -> None:
        """Raise AddressRefused unless the host resolves, and (unless private networks are allowed)
        every address it resolves to is public. The answer is the one connections will use."""
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        await self.addresses.addresses(parts.hostname or "", port)

    async def fetch(self, url: str, headers: dict[str, str] | None = None, html_only: bool = True) -> Response:
        """GET with retries; never raises for HTTP or network trouble (see Response.error)."""
        try:
            await self.check_address(url)
        except AddressRefused as exc:
            return Response(url, error=f"{exc.code}: {exc}", attempts=0)
        gate = self.gate(url)
        attempt = 0
        while True:
            attempt += 1
            async with gate.semaphore:
                await gate.wait_turn()
                resp = await self._get_once(url, headers or {}, html_only)
            resp.attempts = attempt
            wait = self._retry_wait(resp, attempt)
            if wait is None:
                return resp
            gate.push_back(wait)
            await asyncio.sleep(wait)

    def _retry_wait(self, resp: Response, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when this response is final."""
        transient = resp.status in RETRY_STATUSES or (
            resp.status is None and resp.error and resp.error.startswith(("timeout", "connection_error"))
        )
        if not transient or attempt > self.policy.retries:
            return None
        retry_after = retry_after_seconds(resp.headers.get("retry-after"))
        if retry_after is not None:
            if retry_after > MAX_RETRY_AFTER_S:
                return None
            return retry_after
        return self.policy.backoff * (2 ** (attempt - 1))

    async def _get_once(self, url: str, headers: dict[str, str], html_only: bool) -> Response:
        """One attempt. `policy.timeout` bounds the whole attempt (connect, headers and body):
        httpx's own timeout bounds each read, so a server that drips a byte a second would
        otherwise hold the request forever."""
        start = time.perf_counter()
        try:
            async with asyncio.timeout(self.policy.timeout):
                resp = await self._stream_once(url, headers, html_only)
        except TimeoutError:
            resp = Response(url, error=f"timeout: no complete response within {self.policy.timeout:g}s")
        except AddressRefused as exc:  # raised by the pinned connection (e.g. a redirect's new host)
            resp = Response(url, error=f"{exc.code}: {exc}")
        except httpx.TimeoutException as exc:
            resp = Response(url, error=f"timeout: {type(exc).__name__} after {self.policy.timeout:g}s")
        except httpx.TransportError as exc:
            resp = Response(url, error=f"connection_error: {type(exc).__name__}: {exc}".strip())
        except httpx.HTTPError as exc:  # e.g. an invalid header: a broken response, not a broken network
            resp = Response(url, error=f"bad_response: {type(exc).__name__}: {exc}")
        resp.elapsed_ms = (time.perf_counter() - start) * 1000
        return resp

    async def _stream_once(self, url: str, headers: dict[str, str], html_only: bool) -> Response:
        async with self.client.stream("GET", url, headers=headers) as r:
            resp = Response(url, status=r.status_code, headers={k.lower(): v for k, v in r.headers.items()})
            if r.status_code == 200 and not (html_only and not is_html_content_type(r.headers.get("content-type"))):
                resp.body, resp.truncated = await self._read_capped(r)
        return resp

    async def _read_capped(self, r: httpx.Response) -> tuple[bytes, bool]:
        """The body, cut at max_body_bytes (the rest is not downloaded)."""
        cap = self.policy.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        async for chunk in r.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:
                return b"".join(chunks)[:cap], True
        return b"".join(chunks), False

    async def fetch_text(self, url: str) -> tuple[int | None, str]:
        """For robots.txt: (status, text); status None when nothing arrived."""
        resp = await self.fetch(url, html_only=False)
        if resp.status is None:
            return None, ""
        return resp.status, (resp.body or b"").decode("utf-8", errors="replace")
