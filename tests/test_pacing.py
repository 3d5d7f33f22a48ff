"""Pacing: spacing across processes, users in turns, busy instead of hanging, 429 retries."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio import Redis

from bot.balance.breaker import Breaker
from bot.balance.pacing import SAFETY_MARGIN, Pacer, pace_interval
from bot.balance.upstream_gate import Busy, UpstreamGate
from bot.catbuy.client import CatBuyClient
from bot.catbuy.errors import RateLimited
from bot.items.item import ItemRef, Platform
from tests.fakes.catbuy_server import FakeCatBuy

KEY = "cbk_pacing_test"
TAOBAO = ItemRef(platform=Platform.TAOBAO, item_id="734912856301")


@given(st.floats(min_value=1, max_value=100))
def test_spaced_calls_never_put_more_than_rps_in_a_second(rps: float) -> None:
    interval = pace_interval(rps)
    allowed = math.floor(rps)
    # allowed + 1 calls, spaced, span more than one second...
    assert allowed * interval > 1.0
    # ...while the margin stays small enough to keep the upstream busy.
    assert interval <= (1 + SAFETY_MARGIN + 0.01) / allowed


@pytest.fixture
async def fake() -> AsyncIterator[FakeCatBuy]:
    async with FakeCatBuy(KEY, rps=2) as upstream:
        yield upstream


async def test_users_take_turns(redis: Redis) -> None:
    pacer = Pacer(redis, rps=50, max_wait=30)
    order: list[str] = []
    mid_flood = asyncio.Event()

    async def ask(name: str, user_id: int) -> None:
        await pacer.acquire(user_id)
        order.append(name)
        if len(order) == 5:
            mid_flood.set()

    floods = [
        asyncio.create_task(ask(f"{who}{i}", uid))
        for i in range(15)
        for who, uid in (("a", 1), ("c", 3))
    ]
    await mid_flood.wait()
    served_before_b = len(order)
    single = asyncio.create_task(ask("b", 2))
    await asyncio.gather(*floods, single)
    # Two floods take turns with each other...
    floods_order = [name[0] for name in order if name != "b"]
    assert floods_order[:6] == ["a", "c", "a", "c", "a", "c"]
    # ...and a single link arriving mid-flood waits for at most one slot.
    assert served_before_b < 29
    assert order.index("b") - served_before_b <= 1
    await pacer.aclose()


async def test_a_free_slot_is_used_at_once_though_a_queued_call_started_meanwhile(
    redis: Redis,
) -> None:
    """A look-up's slot comes with its charge (``free_slot_claim``); while the reply is
    on its way, a risk check queues and this process's dispatcher starts."""
    pacer = Pacer(redis, rps=2, max_wait=30)
    loop = asyncio.get_running_loop()
    calls: list[float] = []
    claim = pacer.free_slot_claim()
    assert claim is not None
    keys, args = claim
    assert await pacer._take(keys=keys, args=args) == 1
    queued = asyncio.create_task(pacer.wait_turn(2))
    for _ in range(3):
        await asyncio.sleep(0)  # the dispatcher takes its first steps
    await pacer.took(1)
    calls.append(loop.time())
    await queued
    calls.append(loop.time())
    await pacer.acquire(3)
    calls.append(loop.time())
    # Spaced from each claim: no one-second interval holds three of them.
    assert calls[2] - calls[0] >= 1.0
    await pacer.aclose()


async def test_a_wait_past_the_bound_is_busy_up_front(redis: Redis) -> None:
    pacer = Pacer(redis, rps=2, max_wait=1.2)
    results = await asyncio.gather(*(pacer.acquire(1) for _ in range(8)), return_exceptions=True)
    granted = [r for r in results if r is None]
    busy = [r for r in results if isinstance(r, Busy)]
    assert 2 <= len(granted) <= 4
    assert len(busy) == 8 - len(granted)
    await pacer.aclose()


async def test_a_slot_held_by_other_replicas_ends_in_busy_at_the_deadline(redis: Redis) -> None:
    pacer = Pacer(redis, rps=2, max_wait=0.5)
    # Another replica's 429 pushed every slot 3 s away; this process can't know up front.
    await pacer.penalize(3.0)
    with pytest.raises(Busy):
        await pacer.acquire(1)
    await pacer.aclose()


async def test_a_429_holds_back_a_slot_another_replica_reserved_already(redis: Redis) -> None:
    first, second = Pacer(redis, rps=2, max_wait=30), Pacer(redis, rps=2, max_wait=30)
    loop = asyncio.get_running_loop()
    await second.acquire(9)  # its call gets a 429...
    queued = asyncio.create_task(first.acquire(1))  # ...while the first reserves the next slot
    await asyncio.sleep(0.1)
    held_at = loop.time()
    await second.penalize(1.5)
    await queued
    assert loop.time() - held_at >= 1.4
    await first.aclose()
    await second.aclose()


async def test_two_replicas_never_exceed_the_rate(
    redis: Redis, fake: FakeCatBuy, client: CatBuyClient
) -> None:
    gates = [
        UpstreamGate(Pacer(redis, rps=2, max_wait=30), Breaker(redis, cooldown_seconds=5))
        for _ in range(2)
    ]
    calls = [
        gates[i % 2].call(i % 3, lambda: client.fetch_item(TAOBAO.canonical_url, ref=TAOBAO))
        for i in range(9)
    ]
    items = await asyncio.gather(*calls)
    assert all(item.item_id == TAOBAO.item_id for item in items)
    assert fake.calls == 9
    assert fake.rejected_429 == 0
    assert fake.max_in_any_second <= 2
    for gate in gates:
        await gate.pacer.aclose()


async def test_429_is_retried_within_the_pacing(
    redis: Redis, fake: FakeCatBuy, client: CatBuyClient
) -> None:
    gate = UpstreamGate(Pacer(redis, rps=2, max_wait=30), Breaker(redis, cooldown_seconds=5))
    fake.force(429, times=2)
    item = await gate.call(1, lambda: client.fetch_item(TAOBAO.canonical_url, ref=TAOBAO))
    assert item.item_id == TAOBAO.item_id
    assert fake.calls == 3
    # Retries are bounded: a 429 that never ends comes back as RateLimited.
    fake.force(429, times=None)
    with pytest.raises(RateLimited):
        await gate.call(1, lambda: client.fetch_item(TAOBAO.canonical_url, ref=TAOBAO))
    assert fake.calls == 3 + 1 + gate.max_retries
    await gate.pacer.aclose()
