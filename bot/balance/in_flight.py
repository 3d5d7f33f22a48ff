"""Identical work in flight in one process, done once: the look-ups and risk checks share it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Abandoned(Exception):
    """The caller running the work was cancelled: a waiting caller runs it anew."""


class InFlight(Generic[T]):
    """Identical work in flight in this process runs once; the others join it.

    The first caller runs the work itself, in its own task: the result reaches
    it without a detour through the event loop, so what the work starts in the
    background (a store write) runs after that caller's next step, not before.
    If the first caller is cancelled, a caller that joined it runs the work anew.
    """

    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Future[T]] = {}

    def __len__(self) -> int:
        return len(self._running)

    async def run(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """The result of ``work`` for ``key``, and whether this caller joined another's."""
        while (running := self._running.get(key)) is not None:
            try:
                # Shielded: a joiner that gives up must not cancel the shared result.
                return await asyncio.shield(running), True
            except _Abandoned:
                continue
        shared: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._running[key] = shared
        try:
            result = await work()
        except BaseException as exc:
            shared.set_exception(exc if isinstance(exc, Exception) else _Abandoned())
            shared.exception()  # read: a failure nobody joined is not worth a warning
            raise
        finally:
            del self._running[key]
        shared.set_result(result)
        return result, False
