"""Work beside other work: now and then, again until it is done, or on its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


@contextlib.asynccontextmanager
async def repeating(
    action: Callable[[], Awaitable[object]], *, first_after: float, every: float
) -> AsyncIterator[None]:
    """Run ``action`` after ``first_after`` seconds, then every ``every``, while the body runs.

    A body quicker than ``first_after`` costs one timer and no task: most look-ups
    end long before their lock needs renewing or a chat action is worth showing.
    Failures of ``action`` are logged, never raised.
    """
    loop = asyncio.get_running_loop()
    running: set[asyncio.Task[None]] = set()
    timer: asyncio.TimerHandle

    async def quietly() -> None:
        try:
            await action()
        except Exception as error:  # best-effort by contract
            log.debug("background action failed: %s", type(error).__name__)

    def fire() -> None:
        nonlocal timer
        task = loop.create_task(quietly())
        running.add(task)
        task.add_done_callback(running.discard)
        timer = loop.call_later(every, fire)

    timer = loop.call_later(first_after, fire)
    try:
        yield
    finally:
        timer.cancel()
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)


async def until_done(
    action: Callable[[], Awaitable[object]],
    *,
    within: float,
    retry_on: tuple[type[BaseException], ...],
) -> bool:
    """Run ``action`` until it returns, trying again on ``retry_on`` errors (after
    50 ms, doubling to 1 s) for ``within`` seconds; whether it was done."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    pause = 0.05
    while True:
        try:
            await action()
            return True
        except retry_on:
            if loop.time() + pause > deadline:
                return False
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)


class Background:
    """Tasks that run on their own, held until they end (asyncio holds them weakly)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine[Any, Any, T], name: str | None = None) -> asyncio.Task[T]:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def wait(self, seconds: float | None) -> None:
        """Wait up to ``seconds`` (None: as long as it takes) for the tasks running now."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=seconds)

    async def cancel(self) -> None:
        """Cancel the tasks still running, and wait for them to end."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
