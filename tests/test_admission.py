"""A look-up's way in, in one round trip: the cached answer, else the lock, the charge
and a free upstream slot."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from redis.asyncio import Redis
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.balance.ledger import Limit, QuotaLedger
from bot.balance.pacing import Pacer
from bot.balance.upstream_gate import StoreDown
from bot.items.item import Item, ItemRef, Platform
from bot.lookup.admission import _ENTER, Admission, Answered, Locked
from bot.lookup.item_cache import CacheEntry, EntryKind, ItemCache
from bot.storage.store import open_store
from tests.redis_proxy import ReplyDroppingProxy
from tests.redis_server import STALL_SCRIPT, RedisServer

PACE = "cb:pace"
REF = ItemRef(platform=Platform.TAOBAO, item_id="734912856301")
ITEM = Item(platform=Platform.TAOBAO, item_id="734912856301", title="Linen shirt")


class Replica:
    """One process's parts over the shared store."""

    def __init__(self, store: Redis, *, user_quota: int = 5) -> None:
        self.cache = ItemCache(store, ttl_seconds=60)
        self.ledger = QuotaLedger(store, user_quota=user_quota, chat_quota=50, daily_budget=50)
        self.pacer = Pacer(store, rps=2, prefix=PACE)
        self.admission = Admission(store, self.cache, self.ledger, self.pacer)

    async def enter(self, user_id: int = 1) -> Answered | Locked | None:
        return await self.admission.enter(REF, "en", user_id, -100, exempt_user=False)

    async def close(self) -> None:
        await self.pacer.aclose()
        await self.cache.aclose()


async def slot_keys(store: Redis) -> list[bytes | None]:
    return [await store.get(f"{PACE}:tat"), await store.get(f"{PACE}:last")]


async def test_a_miss_takes_the_lock_the_charge_and_the_free_slot(store: Redis) -> None:
    replica = Replica(store)
    entered = await replica.enter()
    assert isinstance(entered, Locked)
    assert entered.charge.accepted and entered.paced
    assert await store.get(f"cb:lock:taobao:{REF.item_id}:en") == entered.token.encode()
    assert (await replica.ledger.remaining(1)).user_used == 1
    assert None not in await slot_keys(store)
    await replica.close()


async def test_a_cached_answer_costs_nothing(store: Redis) -> None:
    first = Replica(store)
    entered = await first.enter()
    assert isinstance(entered, Locked)
    first.cache.publish(REF, "en", entered.token, CacheEntry(EntryKind.ITEM, item=ITEM))
    await first.close()  # the answer is in the store now

    other = Replica(store)  # another process: nothing in its memory
    answer = await other.enter(user_id=2)
    assert isinstance(answer, Answered) and answer.entry.item == ITEM
    assert (await other.ledger.remaining(2)).user_used == 0
    await other.close()


async def test_while_another_process_fetches_nothing_is_charged(store: Redis) -> None:
    first, second = Replica(store), Replica(store)
    assert isinstance(await first.enter(), Locked)
    assert await second.enter(user_id=2) is None
    assert (await second.ledger.remaining(2)).user_used == 0
    await first.close()
    await second.close()


async def test_a_refused_charge_holds_the_lock_and_takes_no_slot(store: Redis) -> None:
    replica = Replica(store, user_quota=1)
    await replica.ledger.charge(1, None, exempt_user=False)  # the user's one look-up today
    entered = await replica.enter()
    assert isinstance(entered, Locked)
    assert entered.charge.refused is Limit.USER and not entered.paced
    assert await slot_keys(store) == [None, None]
    assert await replica.pacer.take_if_free(2)  # still free for the next user
    await replica.close()


async def test_while_this_process_queues_the_charge_asks_for_no_slot(store: Redis) -> None:
    replica = Replica(store)
    assert await replica.pacer.take_if_free(9)
    queued = asyncio.create_task(replica.pacer.acquire(8))  # waits for the next slot
    await asyncio.sleep(0.05)
    assert replica.pacer.waiting == 1
    tat_before = await store.get(f"{PACE}:tat")
    entered = await replica.enter()
    assert isinstance(entered, Locked)
    assert entered.charge.accepted and not entered.paced
    assert await store.get(f"{PACE}:tat") == tat_before
    await queued
    await replica.close()


async def test_an_entry_whose_reply_was_lost_leaves_no_charge_and_no_lock(
    redis: Redis, redis_server: RedisServer
) -> None:
    """Redis stalls past the timeout and runs the entry once it is back."""
    impatient = open_store(redis_server.url, timeout=0.2)
    replica = Replica(impatient)
    await impatient.ping()  # a pooled connection, as a running bot has
    stall = asyncio.create_task(redis.eval(STALL_SCRIPT, 0, 700))
    await asyncio.sleep(0.05)
    with pytest.raises(RedisTimeoutError):
        await replica.enter()
    await stall
    async with asyncio.timeout(10):
        await replica.admission._giving_up.wait(None)
    status = await Replica(redis).ledger.remaining(1)
    assert (status.user_used, status.budget_used) == (0, 0)
    assert await redis.get(f"cb:lock:taobao:{REF.item_id}:en") is None
    await replica.close()
    await impatient.aclose()


async def test_an_entry_given_up_before_it_runs_does_nothing(store: Redis) -> None:
    replica = Replica(store)
    claim = replica.cache.lock_claim(REF, "en")
    await replica.admission._given_up(claim)  # as when the reply was lost
    replica.cache.lock_claim = lambda ref, lang: claim  # type: ignore[method-assign]
    with pytest.raises(StoreDown):
        await replica.enter()  # the entry Redis ran late
    assert (await replica.ledger.remaining(1)).user_used == 0
    assert await store.get(f"cb:lock:taobao:{REF.item_id}:en") is None
    await replica.close()


async def test_an_entry_whose_reply_was_dropped_is_charged_once(redis_server: RedisServer) -> None:
    """The connection drops after Redis ran the entry, before its reply came: redis-py
    sends it again, and the second run finds the first one's lock and charge."""
    async with ReplyDroppingProxy(redis_server.port) as proxy:
        store = open_store(proxy.url)
        await store.flushall()
        replica = Replica(store)
        await store.script_load(_ENTER)  # loaded: the next entry is one EVALSHA
        proxy.drop_reply_to(_script_sha(_ENTER).encode())
        entered = await asyncio.wait_for(replica.enter(), 2)
        status = await replica.ledger.remaining(1, -100)
        await replica.close()
        await store.aclose()
    assert proxy.dropped == 1
    assert isinstance(entered, Locked) and entered.charge.accepted and entered.paced
    assert (status.user_used, status.chat_used, status.budget_used) == (1, 1, 1)


async def test_a_refused_entry_whose_reply_was_dropped_stays_refused(
    redis_server: RedisServer,
) -> None:
    async with ReplyDroppingProxy(redis_server.port) as proxy:
        store = open_store(proxy.url)
        await store.flushall()
        replica = Replica(store, user_quota=1)
        await replica.ledger.charge(1, None, exempt_user=False)  # the user's one look-up today
        await store.script_load(_ENTER)
        proxy.drop_reply_to(_script_sha(_ENTER).encode())
        entered = await asyncio.wait_for(replica.enter(), 2)
        status = await replica.ledger.remaining(1, -100)
        await replica.close()
        await store.aclose()
    assert proxy.dropped == 1
    assert isinstance(entered, Locked) and entered.charge.refused is Limit.USER
    assert not entered.paced
    assert (status.user_used, status.chat_used, status.budget_used) == (1, 0, 1)


def _script_sha(script: str) -> str:
    return hashlib.sha1(script.encode()).hexdigest()
