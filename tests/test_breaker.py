"""The breaker: 402/401 pause paid calls on every replica; one notice, one probe per cooldown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.balance.breaker import CLOSED_FRESH, Breaker, BreakerReason, Verdict
from bot.balance.pacing import Pacer
from bot.balance.upstream_gate import BreakerOpen, UpstreamGate
from bot.catbuy.client import CatBuyClient
from bot.items.item import ItemRef, Platform
from tests.fakes.catbuy_server import FakeCatBuy

KEY = "cbk_breaker_test"
COOLDOWN = 1.0
TMALL = ItemRef(platform=Platform.TMALL, item_id="712455609913")


@pytest.fixture
async def fake() -> AsyncIterator[FakeCatBuy]:
    async with FakeCatBuy(KEY, rps=50) as upstream:
        yield upstream


def replica(store: Redis, cooldown: float = COOLDOWN) -> UpstreamGate:
    """One process's gate: its own pacer, the breaker state shared through the store."""
    return UpstreamGate(
        Pacer(store, rps=40, max_wait=10), Breaker(store, cooldown_seconds=cooldown)
    )


async def fetch(gate: UpstreamGate, client: CatBuyClient, user_id: int = 1) -> object:
    return await gate.call(user_id, lambda: client.fetch_item(TMALL.canonical_url, ref=TMALL))


async def test_402_opens_it_for_every_replica_and_admins_hear_once(
    store: Redis, fake: FakeCatBuy, client: CatBuyClient
) -> None:
    gates = [replica(store) for _ in range(3)]
    fake.force(402, times=None)
    # Calls already on their way when the first 402 lands all trip it; one notice.
    first = await asyncio.gather(
        *(fetch(gates[i % 3], client, i) for i in range(6)), return_exceptions=True
    )
    assert all(isinstance(e, BreakerOpen) for e in first)
    opened = [e for e in first if isinstance(e, BreakerOpen)]
    assert {e.reason for e in opened} == {BreakerReason.BALANCE}
    assert sum(e.notify_admins for e in opened) == 1
    calls = fake.calls
    # While open: refused without touching the upstream, and no more notices.
    for gate in gates:
        with pytest.raises(BreakerOpen) as refused:
            await fetch(gate, client)
        assert not refused.value.notify_admins
    assert fake.calls == calls


async def test_a_replica_that_saw_it_closed_just_now_learns_from_one_refused_call(
    store: Redis, fake: FakeCatBuy, client: CatBuyClient
) -> None:
    seen_closed, other = replica(store, cooldown=60), replica(store, cooldown=60)
    await fetch(seen_closed, client)  # closed: believed for CLOSED_FRESH, no store read
    fake.force(402, times=None)
    with pytest.raises(BreakerOpen):
        await fetch(other, client)
    calls = fake.calls
    # A 402 costs nothing: one reaches the upstream, and this replica knows too.
    with pytest.raises(BreakerOpen):
        await fetch(seen_closed, client)
    with pytest.raises(BreakerOpen):
        await fetch(seen_closed, client)
    assert fake.calls == calls + 1


async def test_closed_is_read_from_the_store_again_after_a_second(
    store: Redis, fake: FakeCatBuy, client: CatBuyClient
) -> None:
    seen_closed, other = replica(store, cooldown=60), replica(store, cooldown=60)
    await fetch(seen_closed, client)
    fake.force(402, times=None)
    with pytest.raises(BreakerOpen):
        await fetch(other, client)
    calls = fake.calls
    await asyncio.sleep(CLOSED_FRESH + 0.05)
    with pytest.raises(BreakerOpen):
        await fetch(seen_closed, client)
    assert fake.calls == calls  # refused without a call


async def test_one_probe_per_cooldown_then_it_closes(
    store: Redis, fake: FakeCatBuy, client: CatBuyClient
) -> None:
    gates = [replica(store) for _ in range(3)]
    fake.force(402, times=None)
    with pytest.raises(BreakerOpen):
        await fetch(gates[0], client)
    await asyncio.sleep(COOLDOWN + 0.1)
    # Still out of balance: one probe among many callers, a new cooldown, a new notice.
    before = fake.calls
    probes = await asyncio.gather(
        *(fetch(gates[i % 3], client, i) for i in range(8)), return_exceptions=True
    )
    assert fake.calls == before + 1
    assert all(isinstance(e, BreakerOpen) for e in probes)
    assert sum(isinstance(e, BreakerOpen) and e.notify_admins for e in probes) == 1
    # Topped up: the next probe succeeds and paid calls flow again.
    fake.clear_forced()
    await asyncio.sleep(COOLDOWN + 0.1)
    results = await asyncio.gather(
        *(fetch(gates[i % 3], client, i) for i in range(4)), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) >= 1
    assert (await gates[0].breaker.check()).verdict is Verdict.CLOSED
    await fetch(gates[1], client)


async def test_401_pauses_with_the_key_as_the_reason(
    store: Redis, fake: FakeCatBuy, client: CatBuyClient
) -> None:
    gate = replica(store)
    fake.force(401, times=1)
    with pytest.raises(BreakerOpen) as opened:
        await fetch(gate, client)
    assert opened.value.reason is BreakerReason.AUTH
    assert opened.value.notify_admins
    assert await gate.breaker.open_reason() is BreakerReason.AUTH


async def test_other_failures_do_not_trip_it(
    store: Redis, fake: FakeCatBuy, client: CatBuyClient
) -> None:
    gate = replica(store)
    fake.force(500, times=1)
    with pytest.raises(Exception) as failed:
        await fetch(gate, client)
    assert not isinstance(failed.value, BreakerOpen)
    assert not await gate.breaker.is_open()


async def test_risk_checks_share_the_breaker(
    store: Redis, fake: FakeCatBuy, client: CatBuyClient
) -> None:
    gate = replica(store)
    fake.force(402, times=1)
    with pytest.raises(BreakerOpen):
        await fetch(gate, client)
    calls = fake.calls
    with pytest.raises(BreakerOpen):
        await gate.call(1, lambda: client.check_risk("email", "buyer@example.com"))
    assert fake.calls == calls
