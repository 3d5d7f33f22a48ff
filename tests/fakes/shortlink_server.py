"""A fake short-link web at the HTTP boundary, for the resolver's tests.

Pages are keyed by URL (scheme, host, path and query, no fragment). Every
request the resolver makes is recorded in ``requests``, so tests assert
exactly which hosts were contacted. Unknown URLs answer 404.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx

Page = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeShortLinkWeb:
    """Routes URL → canned response; records every request made."""

    pages: dict[str, Page] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    bytes_sent: int = 0

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    @property
    def hosts(self) -> list[str]:
        return [httpx.URL(url).host for url in self.requests]

    def redirect(self, url: str, location: str, status: int = 302) -> None:
        self.pages[url] = lambda _: httpx.Response(status, headers={"Location": location})

    def page(self, url: str, body: str, status: int = 200) -> None:
        self.pages[url] = lambda _: httpx.Response(
            status, content=body.encode(), headers={"Content-Type": "text/html"}
        )

    def endless(self, url: str, chunk: bytes = b"x" * 65536) -> None:
        """A body that never ends; ``bytes_sent`` tells how much was read."""

        async def stream() -> AsyncIterator[bytes]:
            while True:
                self.bytes_sent += len(chunk)
                yield chunk

        self.pages[url] = lambda _: httpx.Response(200, content=stream())

    def hang(self, url: str) -> None:
        self.pages[url] = _HANG

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url.copy_with(fragment=None))
        self.requests.append(url)
        page = self.pages.get(url)
        if page is None:
            return httpx.Response(404, content=b"not found")
        if page is _HANG:
            await asyncio.sleep(3600)
        return page(request)


def _hang(_: httpx.Request) -> httpx.Response:  # pragma: no cover - never answers
    raise AssertionError("a hanging page never answers")


_HANG: Page = _hang
