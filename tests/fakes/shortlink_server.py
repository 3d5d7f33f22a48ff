"""A fake short-link web at the HTTP boundary, for the resolver's tests.

Pages are keyed by URL (scheme, host, path and query, no fragment). Every
request the resolver makes is recorded in ``requests``, so tests assert
exactly which hosts were contacted. Unknown URLs answer 404.

``transport`` answers in memory (httpx.MockTransport); ``serving(web)`` puts
the same pages on a real local socket, for timeouts and body caps over TCP.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
from aiohttp import web

Page = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeShortLinkWeb:
    """Routes URL → canned response; records every request made."""

    pages: dict[str, Page] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    bytes_sent: int = 0
    _released: asyncio.Event | None = None

    def release(self) -> None:
        """Let hanging pages give up, so a server can shut down at once."""
        if self._released is not None:
            self._released.set()

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
            if self._released is None:
                self._released = asyncio.Event()
            await asyncio.wait_for(self._released.wait(), 3600)
            return httpx.Response(504)
        return page(request)


def _hang(_: httpx.Request) -> httpx.Response:  # pragma: no cover - a marker only
    return httpx.Response(504)


_HANG: Page = _hang


class _ToLocalServer(httpx.AsyncHTTPTransport):
    """Sends every request to the local server, naming the URL it was meant for.

    The resolver's host checks run on the logical URL before this transport
    sees it; only the socket goes to 127.0.0.1.
    """

    def __init__(self, port: int) -> None:
        super().__init__()
        self._port = port

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers[LOGICAL_URL_HEADER] = str(request.url)
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self._port)
        return await super().handle_async_request(request)


LOGICAL_URL_HEADER = "X-Logical-Url"


@asynccontextmanager
async def serving(fake: FakeShortLinkWeb) -> AsyncIterator[httpx.AsyncBaseTransport]:
    """The fake web on a real local socket (aiohttp); yields a transport to it."""

    async def handle(request: web.Request) -> web.StreamResponse:
        logical = request.headers.get(LOGICAL_URL_HEADER, "")
        answer = await fake._handle(httpx.Request(request.method, logical))
        headers = {k: v for k, v in answer.headers.items() if k.lower() in _PASSED_HEADERS}
        out = web.StreamResponse(status=answer.status_code, headers=headers)
        await out.prepare(request)
        try:
            async for chunk in answer.aiter_raw():
                await out.write(chunk)
        except httpx.StreamConsumed:
            await out.write(answer.content)
        except ConnectionError:
            return out  # the client stopped reading: that is what a cap does
        await out.write_eof()
        return out

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield _ToLocalServer(port)
    finally:
        fake.release()
        await runner.cleanup()


_PASSED_HEADERS = ("location", "content-type")
