"""robots.txt per host, parsed with protego, fetched once per crawl.

RFC 9309: a robots.txt that does not exist (4xx) allows everything; one that cannot be reached
(5xx, connection error) means the site may be in trouble, so nothing is crawled from that host.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from protego import Protego

from corpusforge.processing.urls import host_of

ALLOW_ALL = Protego.parse("")
DISALLOW_ALL = Protego.parse("User-agent: *\nDisallow: /\n")


@dataclass
class HostRobots:
    rules: Protego
    unreachable: bool = False


# fetch_text(url) -> (status or None, text)
RobotsFetch = Callable[[str], Awaitable[tuple[int | None, str]]]


class RobotsCache:
    def __init__(self, fetch_text: RobotsFetch, user_agent: str):
        self._fetch_text = fetch_text
        self.user_agent = user_agent
        self._hosts: dict[str, HostRobots] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def for_url(self, url: str) -> HostRobots:
        host = host_of(url)
        if host in self._hosts:
            return self._hosts[host]
        async with self._locks.setdefault(host, asyncio.Lock()):
            if host not in self._hosts:
                self._hosts[host] = await self._load(host)
        return self._hosts[host]

    async def _load(self, host: str) -> HostRobots:
        status, text = await self._fetch_text(f"{host}/robots.txt")
        if status is None or status >= 500:
            return HostRobots(DISALLOW_ALL, unreachable=True)
        if status >= 400:
            return HostRobots(ALLOW_ALL)
        return HostRobots(Protego.parse(text))

    async def allowed(self, url: str) -> bool:
        return (await self.for_url(url)).rules.can_fetch(url, self.user_agent)

    async def crawl_delay(self, url: str) -> float | None:
        delay = (await self.for_url(url)).rules.crawl_delay(self.user_agent)
        return float(delay) if delay is not None else None

    async def sitemaps(self, url: str) -> list[str]:
        return list((await self.for_url(url)).rules.sitemaps)
