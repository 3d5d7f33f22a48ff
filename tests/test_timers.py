"""``repeating``: an action now and then while work runs."""

from __future__ import annotations

import asyncio

from bot.timers import repeating


async def test_a_quick_body_runs_the_action_never() -> None:
    calls: list[float] = []

    async def action() -> None:
        calls.append(0)

    async with repeating(action, first_after=0.05, every=0.05):
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    assert calls == []


async def test_a_long_body_runs_it_after_the_delay_then_again() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    calls: list[float] = []

    async def action() -> None:
        calls.append(loop.time() - started)

    async with repeating(action, first_after=0.1, every=0.1):
        await asyncio.sleep(0.35)
    assert 2 <= len(calls) <= 3  # at 0.1 and 0.2 s, and at 0.3 s unless the machine lags
    assert calls[0] >= 0.1
    count = len(calls)
    await asyncio.sleep(0.15)
    assert len(calls) == count  # stopped with the body


async def test_a_failing_action_never_fails_the_body() -> None:
    async def action() -> None:
        raise ConnectionError("the store is down")

    async with repeating(action, first_after=0.01, every=0.01):
        await asyncio.sleep(0.05)


async def test_an_action_still_running_at_the_end_is_cancelled() -> None:
    finished: list[bool] = []

    async def action() -> None:
        await asyncio.sleep(1)
        finished.append(True)

    async with repeating(action, first_after=0.01, every=10):
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.01)
    assert finished == []
