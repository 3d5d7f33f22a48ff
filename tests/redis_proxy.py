"""A TCP proxy in front of redis-server that loses a reply on demand.

Armed with a marker (a script's SHA, say), it forwards the next request that
holds it, waits for Redis's reply, and closes the client's connection
instead of passing the reply on: Redis ran the command, the client never
hears of it. redis-py then reconnects and sends the command again, as it
does after any dropped connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType


class ReplyDroppingProxy:
    """``async with ReplyDroppingProxy(redis_port) as proxy: open_store(proxy.url)``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.dropped = 0
        self._markers: tuple[bytes, ...] = ()
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def drop_reply_to(self, *markers: bytes) -> None:
        """Lose the reply to the next request that holds one of ``markers``."""
        self._markers = markers

    async def __aenter__(self) -> ReplyDroppingProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for pump in list(self._pumps):
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        redis_r, redis_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        losing = asyncio.Event()  # the reply now on its way is to be lost

        async def requests() -> None:
            while chunk := await client_r.read(65536):
                if any(marker in chunk for marker in self._markers):
                    self._markers = ()
                    losing.set()
                redis_w.write(chunk)
                await redis_w.drain()

        async def replies() -> None:
            while chunk := await redis_r.read(65536):
                if losing.is_set():
                    self.dropped += 1
                    return  # Redis has answered: the client never hears it
                client_w.write(chunk)
                await client_w.drain()

        pumps = [asyncio.ensure_future(requests()), asyncio.ensure_future(replies())]
        self._pumps.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
                self._pumps.discard(pump)
            for writer in (client_w, redis_w):
                writer.close()
                with contextlib.suppress(OSError, ConnectionError):
                    await writer.wait_closed()
