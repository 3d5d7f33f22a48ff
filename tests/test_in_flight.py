"""``InFlight``: identical work in flight runs once, and its first caller runs it."""

from __future__ import annotations

import asyncio
import gc

import pytest

from bot.balance.in_flight import InFlight


async def test_identical_work_runs_once_and_the_others_join() -> None:
    flight: InFlight[str] = InFlight()
    runs = 0
    release = asyncio.Event()

    async def work() -> str:
        nonlocal runs
        runs += 1
        await release.wait()
        return "card"

    callers = [asyncio.create_task(flight.run("item", work)) for _ in range(3)]
    await asyncio.sleep(0.01)
    assert len(flight) == 1
    release.set()
    results = await asyncio.gather(*callers)
    assert runs == 1
    assert sorted(joined for _, joined in results) == [False, True, True]
    assert {result for result, _ in results} == {"card"}
    assert len(flight) == 0


async def test_the_first_caller_goes_on_before_what_its_work_left_in_the_background() -> None:
    """A card is drawn before the answer's store write takes the event loop."""
    flight: InFlight[str] = InFlight()
    order: list[str] = []

    async def work() -> str:
        await asyncio.sleep(0)
        asyncio.get_running_loop().call_soon(order.append, "background write")
        return "card"

    await flight.run("item", work)
    order.append("caller")
    await asyncio.sleep(0)
    assert order == ["caller", "background write"]


async def test_a_failure_reaches_every_caller_and_is_not_reported_unread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flight: InFlight[str] = InFlight()
    release = asyncio.Event()

    async def work() -> str:
        await release.wait()
        raise ValueError("upstream said no")

    first = asyncio.create_task(flight.run("item", work))
    await asyncio.sleep(0)
    second = asyncio.create_task(flight.run("item", work))
    await asyncio.sleep(0)
    release.set()
    for caller in (first, second):
        with pytest.raises(ValueError, match="upstream said no"):
            await caller
    with pytest.raises(ValueError):
        await flight.run("alone", work)  # nobody joins this one
    gc.collect()
    await asyncio.sleep(0)
    assert "never retrieved" not in caplog.text


async def test_when_the_first_caller_is_cancelled_a_joiner_runs_the_work_again() -> None:
    flight: InFlight[str] = InFlight()
    started: list[str] = []

    async def work(name: str) -> str:
        started.append(name)
        await asyncio.sleep(0.05)
        return f"card by {name}"

    first = asyncio.create_task(flight.run("item", lambda: work("first")))
    await asyncio.sleep(0)
    second = asyncio.create_task(flight.run("item", lambda: work("second")))
    await asyncio.sleep(0)
    first.cancel()
    assert await second == ("card by second", False)
    assert started == ["first", "second"]
    assert first.cancelled()


async def test_a_joiner_that_gives_up_leaves_the_work_running() -> None:
    flight: InFlight[str] = InFlight()

    async def work() -> str:
        await asyncio.sleep(0.05)
        return "card"

    first = asyncio.create_task(flight.run("item", work))
    await asyncio.sleep(0)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await flight.run("item", work)
    assert await first == ("card", False)
