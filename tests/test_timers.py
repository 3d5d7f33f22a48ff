"""``repeating``: an action now and then while work runs."""

from __future__ import annotations

import asyncio

import pytest

from bot.ops.background import repeating, until_done


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


async def test_until_done_tries_again_on_the_errors_named_and_gives_up_in_time() -> None:
    tries: list[int] = []

    async def flaky() -> None:
        tries.append(1)
        if len(tries) < 3:
            raise ConnectionError("not yet")

    assert await until_done(flaky, within=5, retry_on=(ConnectionError,))
    assert len(tries) == 3

    async def down() -> None:
        raise ConnectionError("down")

    assert not await until_done(down, within=0.3, retry_on=(ConnectionError,))

    async def broken() -> None:
        raise ValueError("a bug, not an outage")

    with pytest.raises(ValueError):
        await until_done(broken, within=5, retry_on=(ConnectionError,))
