"""Issue 15.5: the host is looked up once, every address vetted, and the connection goes to the
vetted address (a second, different answer of the resolver is never used)."""

from __future__ import annotations

import asyncio

from corpusforge.connectors.fetcher import Fetcher, FetchPolicy


class RebindingResolver:
    """Answers a public address first and the loopback server after that (DNS rebinding)."""

    def __init__(self):
        self.calls = 0

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls += 1
        return ["93.184.215.14"] if self.calls == 1 else ["127.0.0.1"]


def fetch(url: str, resolver, **policy):
    async def run():
        async with Fetcher(FetchPolicy("t", retries=0, timeout=2, **policy), resolver=resolver) as f:
            return [await f.fetch(url), await f.fetch(url)]

    return asyncio.run(run())


def test_a_rebinding_answer_is_never_connected_to(drip_site):
    resolver = RebindingResolver()
    port = drip_site.url.rsplit(":", 1)[1]
    responses = fetch(f"http://rebind.test:{port}/ok-1.html", resolver)
    assert resolver.calls == 1
    assert drip_site.requests == []  # the loopback server was never reached
    assert all(r.status is None and r.error.startswith(("connection_error", "timeout")) for r in responses)


def test_the_connection_goes_to_the_resolved_address_with_the_host_header_kept(drip_site):
    seen = []

    async def resolver(host, port):
        seen.append(host)
        return ["127.0.0.1"]

    port = drip_site.url.rsplit(":", 1)[1]
    responses = fetch(f"http://pinned.test:{port}/ok-1.html", resolver, allow_private_network=True)
    assert [r.status for r in responses] == [200, 200] and seen == ["pinned.test"]
    refused = fetch(f"http://pinned.test:{port}/ok-1.html", resolver)
    assert refused[0].error == "private_address: pinned.test resolves to 127.0.0.1 (loopback)"


def test_a_failed_lookup_is_refused_not_allowed(drip_site):
    async def resolver(host, port):
        raise OSError("Name or service not known")

    (resp, _) = fetch("http://nowhere.test/", resolver)
    assert resp.error == "dns_error: nowhere.test does not resolve (Name or service not known)"
    assert resp.attempts == 0
