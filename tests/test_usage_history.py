"""The daily history: every replica's counts add up, days roll at UTC midnight, and the
history outlives 90 days and a Redis restart."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from redis.asyncio import ConnectionPool, Redis

from bot.balance.daily_usage import RETAIN_DAYS, Counter, DailyCounters
from bot.storage.store import open_store
from tests.redis_server import RedisServer, running_redis
from tests.test_lookup import CountingConnection

DAY = 86400


class Clock:
    """A clock the test moves."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_three_processes_counting_at_once_add_up_exactly(
    redis: Redis, redis_server: RedisServer
) -> None:
    n = 400
    start = str(time.time() + 3)  # all three write in the same second, whatever their start-up
    writers = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.usage_writer", redis_server.url, str(n), start
        )
        for _ in range(3)
    ]
    async with asyncio.timeout(60):
        assert [await w.wait() for w in writers] == [0, 0, 0]
    history = await DailyCounters(redis).history(1, top_groups=5)
    assert history.today.stats.paid_lookups == 3 * n
    assert history.today.stats.cache_hits == 3 * n
    [group] = history.top_groups
    assert (group.chat_id, group.title, group.paid_lookups) == (-100, "Shoppers", 3 * n)
    assert group.spend == Decimal("4.800")


async def test_days_roll_at_utc_midnight(store: Redis) -> None:
    midnight = (int(time.time()) // DAY + 1) * DAY  # the next one: keys expire by real time
    clock = Clock(midnight - 0.5)
    counters = DailyCounters(store, clock=clock)
    counters.count(Counter.PAID_LOOKUPS, 2, chat_id=-5)
    await counters.flush()
    clock.now = midnight
    counters.count(Counter.PAID_LOOKUPS, chat_id=-6)
    counters.count(Counter.RISK_CHECKS)
    history = await counters.history(3, top_groups=5)
    today = datetime.fromtimestamp(midnight, UTC).date()
    assert [today - d.day for d in history.days] == [timedelta(days=n) for n in (2, 1, 0)]
    assert [d.stats.paid_lookups for d in history.days] == [0, 2, 1]
    assert history.today.stats.spend == Decimal("0.004") + Decimal("0.03")
    assert [(g.chat_id, g.paid_lookups) for g in history.top_groups] == [(-6, 1)]


async def test_the_history_is_kept_past_ninety_days_then_dropped(redis: Redis) -> None:
    now = time.time()
    for days_ago, paid in ((95, 3), (RETAIN_DAYS + 2, 7)):
        writer = DailyCounters(redis, clock=Clock(now - days_ago * DAY))
        writer.count(Counter.PAID_LOOKUPS, paid, chat_id=-1)
        await writer.flush()
    history = await DailyCounters(redis).history(RETAIN_DAYS + 3)
    paid = {(history.today.day - d.day).days: d.stats.paid_lookups for d in history.days}
    assert paid[95] == 3
    assert paid[RETAIN_DAYS + 2] == 0  # expired: written after its time was up
    # Today's keys live their retention after today ends, not a moment less.
    today = DailyCounters(redis)
    today.count(Counter.PAID_LOOKUPS, chat_id=-1)
    await today.flush()
    day = int(now) // DAY
    for key in (f"cb:stats:{day}", f"cb:stats:{day}:groups"):
        ttl = await redis.ttl(key)
        assert RETAIN_DAYS * DAY <= ttl <= (RETAIN_DAYS + 1) * DAY


async def test_a_redis_restart_with_aof_keeps_the_history() -> None:
    with running_redis(appendonly=True) as server:
        store = open_store(server.url)
        counters = DailyCounters(store)
        counters.count(Counter.PAID_LOOKUPS, 5, chat_id=-9)
        counters.count(Counter.REFUSED_CHAT, 2)
        counters.note_group(-9, "Night owls")
        await counters.flush()
        server.stop()
        server.start()
        history = await DailyCounters(store).history(1, top_groups=1)
        await store.aclose()
    assert history.today.stats.paid_lookups == 5
    assert history.today.stats[Counter.REFUSED_CHAT] == 2
    assert [(g.title, g.paid_lookups) for g in history.top_groups] == [("Night owls", 5)]


async def test_top_groups_rank_by_spend_and_titles_are_written_once(store: Redis) -> None:
    counters = DailyCounters(store)
    for chat, paid in ((-1, 1), (-2, 9), (-3, 4), (-4, 2), (-5, 7), (-6, 3)):
        counters.count(Counter.PAID_LOOKUPS, paid, chat_id=chat)
        counters.note_group(chat, f"  group\n{-chat} ")
    counters.count(Counter.PAID_LOOKUPS, 50)  # in private chats: no group
    history = await counters.history(1, top_groups=5)
    assert [(g.chat_id, g.title, g.paid_lookups) for g in history.top_groups] == [
        (-2, "group 2", 9),
        (-5, "group 5", 7),
        (-3, "group 3", 4),
        (-6, "group 6", 3),
        (-4, "group 4", 2),
    ]
    await store.delete("cb:stats:titles")
    counters.note_group(-2, "group 2")  # unchanged: not written again
    counters.note_group(-5, "renamed")
    await counters.flush()
    assert await store.hgetall("cb:stats:titles") == {b"-5": b"renamed"}


async def test_a_day_without_data_reads_as_zeros(store: Redis) -> None:
    history = await DailyCounters(store).history(30, top_groups=5)
    assert len(history.days) == 30 and history.top_groups == []
    assert all(d.stats.paid_lookups == 0 and d.stats.spend == 0 for d in history.days)
    assert history.today.day == datetime.now(UTC).date()


async def test_a_second_of_group_look_ups_is_one_store_call(redis_server: RedisServer) -> None:
    """Counting per group and remembering titles ride on the one write counting made."""
    store = Redis(
        connection_pool=ConnectionPool.from_url(
            redis_server.url, connection_class=CountingConnection
        )
    )
    await store.flushall()
    counters = DailyCounters(store)
    await counters.history(1)  # loads the scripts
    CountingConnection.sent = 0
    for n in range(200):
        counters.count(Counter.PAID_LOOKUPS, chat_id=-(n % 20))
        counters.count(Counter.CACHE_HITS)
        counters.note_group(-(n % 20), f"group {n % 20}")
    assert CountingConnection.sent == 0  # nothing on a look-up's path
    await counters.flush()
    assert CountingConnection.sent == 1
    history = await counters.history(1, top_groups=20)
    assert sum(g.paid_lookups for g in history.top_groups) == 200
    assert {g.title for g in history.top_groups} == {f"group {n}" for n in range(20)}
    await store.aclose()
