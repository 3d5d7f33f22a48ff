"""What the fake servers share: an aiohttp app on a local port, as an async context."""

from __future__ import annotations

import asyncio
import socket
from types import TracebackType
from typing import Self

from aiohttp import web


class LocalServer:
    """An aiohttp server on ``host``; port 0 picks a free one, known once started.

    Subclasses build the app in ``make_app``. ``stopping`` is set when the server
    stops, so that handlers holding a request open (a long poll, a hang) let go.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None

    def make_app(self) -> web.Application:
        raise NotImplementedError

    async def start(self) -> None:
        self.stopping.clear()
        # Requests held open must not hold shutdown for aiohttp's default minute.
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        # Bind first so that the free port is known before the site starts.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        self.stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
