"""The quota ledger and the daily counters, on real Redis and the in-process store."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from redis.asyncio import Redis

from bot.balance.daily_usage import FLUSH_SECONDS, Counter, DailyCounters
from bot.balance.ledger import Limit, QuotaLedger
from bot.storage.store import open_store
from tests.redis_server import running_redis


def make_ledger(store: Redis, *, user: int = 3, chat: int = 5, budget: int = 8) -> QuotaLedger:
    return QuotaLedger(store, user_quota=user, chat_quota=chat, daily_budget=budget)


async def test_user_quota_refuses_with_the_reset_time(store: Redis) -> None:
    ledger = make_ledger(store)
    charges = [await ledger.charge(1, None, exempt_user=False) for _ in range(4)]
    assert [c.refused for c in charges] == [None, None, None, Limit.USER]
    assert 0 < charges[-1].reset_seconds <= 86400
    status = await ledger.remaining(1)
    assert (status.user_used, status.user_left, status.budget_used) == (3, 0, 3)


async def test_group_quota_counts_every_member_and_private_chats_have_none(store: Redis) -> None:
    ledger = make_ledger(store, user=10, chat=2, budget=10)
    assert (await ledger.charge(1, -100, exempt_user=False)).accepted
    assert (await ledger.charge(2, -100, exempt_user=False)).accepted
    refused = await ledger.charge(3, -100, exempt_user=False)
    assert refused.refused is Limit.CHAT
    # The same user in private is not held back by the group.
    assert (await ledger.charge(3, None, exempt_user=False)).accepted


async def test_refusal_charges_nothing(store: Redis) -> None:
    ledger = make_ledger(store, user=1, chat=5, budget=5)
    assert (await ledger.charge(1, -100, exempt_user=False)).accepted
    assert (await ledger.charge(1, -100, exempt_user=False)).refused is Limit.USER
    # Neither the group nor the budget paid for the refused look-up.
    for user in (2, 3, 4, 5):
        assert (await ledger.charge(user, -100, exempt_user=False)).accepted
    assert (await ledger.charge(6, -100, exempt_user=False)).refused is Limit.CHAT
    assert (await ledger.remaining(1)).budget_used == 5


async def test_admins_skip_the_user_quota_not_the_budget(store: Redis) -> None:
    ledger = make_ledger(store, user=1, chat=10, budget=3)
    results = [await ledger.charge(7, None, exempt_user=True) for _ in range(4)]
    assert [r.refused for r in results] == [None, None, None, Limit.BUDGET]
    assert (await ledger.charge(8, None, exempt_user=False)).refused is Limit.BUDGET


async def test_concurrent_charges_never_overspend(store: Redis) -> None:
    ledger = make_ledger(store, user=10, chat=1000, budget=1000)
    charges = await asyncio.gather(*(ledger.charge(1, -100, exempt_user=False) for _ in range(100)))
    assert sum(c.accepted for c in charges) == 10
    assert sum(c.refused is Limit.USER for c in charges) == 90


async def test_refund_gives_back_user_and_group_and_the_budget_only_when_asked(
    store: Redis,
) -> None:
    ledger = make_ledger(store, user=1, chat=1, budget=2)
    first = await ledger.charge(1, -100, exempt_user=False)
    await ledger.refund(first, budget=False)
    second = await ledger.charge(1, -100, exempt_user=False)
    assert second.accepted
    # The budget kept the first unit: one left.
    await ledger.refund(second, budget=True)
    status = await ledger.remaining(1)
    assert (status.user_used, status.budget_used) == (0, 1)
    # A refused charge refunds nothing, and counters never go below zero.
    refused = await make_ledger(store, user=0).charge(2, None, exempt_user=False)
    await ledger.refund(refused, budget=True)
    await ledger.refund(second, budget=True)
    assert (await ledger.remaining(1)).budget_used == 0


async def test_counters_expire_after_the_day(store: Redis) -> None:
    ledger = make_ledger(store)
    charge = await ledger.charge(1, -100, exempt_user=False)
    keys = await store.keys("cb:quota:*")
    assert len(keys) == 3
    for key in keys:
        ttl = await store.ttl(key)
        assert charge.reset_seconds <= ttl <= charge.reset_seconds + 3600


async def test_budget_notice_is_due_once_a_day(store: Redis) -> None:
    ledger, other_replica = make_ledger(store), make_ledger(store)
    due = await asyncio.gather(
        *((ledger if i % 2 else other_replica).budget_exhausted_notice_due() for i in range(10))
    )
    assert due.count(True) == 1


async def test_daily_stats_estimate_spend_and_savings(store: Redis) -> None:
    counters = DailyCounters(store)
    counters.count(Counter.PAID_LOOKUPS, 10)
    counters.count(Counter.CACHE_HITS, 4)
    counters.count(Counter.COALESCED)
    counters.count(Counter.RISK_CHECKS, 2)
    counters.count(Counter.REFUSED_USER)
    counters.count(Counter.REFUSED_BUDGET)
    stats = await counters.snapshot()
    assert stats.paid_lookups == 10
    assert stats.quota_refusals == 2
    assert stats.lookup_spend == Decimal("0.040")
    assert stats.saved_by_cache == Decimal("0.020")
    assert stats.hit_rate == 5 / 15


async def test_counts_reach_the_store_within_a_second_without_a_read(store: Redis) -> None:
    counters, other_replica = DailyCounters(store), DailyCounters(store)
    counters.count(Counter.CACHE_HITS)
    counters.count(Counter.CACHE_HITS)
    assert (await other_replica.snapshot()).cache_hits == 0  # not written yet
    await asyncio.sleep(FLUSH_SECONDS + 0.3)
    assert (await other_replica.snapshot()).cache_hits == 2


async def test_counts_wait_out_a_store_outage() -> None:
    with running_redis() as server:
        store = open_store(server.url)
        counters = DailyCounters(store)
        counters.count(Counter.PAID_LOOKUPS, 3)
        server.stop()
        await counters.flush()  # fails quietly and keeps the counts
        server.start()  # this Redis kept nothing
        counters.count(Counter.PAID_LOOKUPS)
        assert (await counters.snapshot()).paid_lookups == 4
        await store.aclose()
