"""The look-up service end to end: real Redis, the real client, the fake upstream over HTTP."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import Connection

from bot.balance.breaker import Breaker, BreakerReason
from bot.balance.daily_usage import DailyCounters
from bot.balance.ledger import _REFUND, QuotaLedger
from bot.balance.pacing import COLD_ALLOWANCE, Pacer
from bot.balance.upstream_gate import UpstreamGate
from bot.catbuy.client import CatBuyClient
from bot.items.item import ItemRef, Platform
from bot.lookup.admission import _ENTER, _GIVE_BACK
from bot.lookup.item_cache import ItemCache
from bot.lookup.results import Failure, Found, LookupResult, NoticeKind, Refused
from bot.lookup.service import LookupService
from bot.storage.store import open_store
from tests.conftest import FIXTURES
from tests.fakes.catbuy_server import FakeCatBuy
from tests.redis_proxy import ReplyDroppingProxy
from tests.redis_server import RedisServer, running_redis

KEY = "cbk_lookup_test"
TAOBAO = ItemRef(platform=Platform.TAOBAO, item_id="734912856301")
MISSING = ItemRef(platform=Platform.TAOBAO, item_id="999000111222")


def taobao(item_id: int | str) -> ItemRef:
    return ItemRef(platform=Platform.TAOBAO, item_id=str(item_id))


def register_items(fake: FakeCatBuy, ids: range) -> list[ItemRef]:
    """Serve a copy of a fixture item under each id."""
    base: dict[str, Any] = json.loads((FIXTURES / "taobao_two_dims.json").read_text())
    for item_id in ids:
        body = copy.deepcopy(base)
        body["data"]["num_iid"] = str(item_id)
        fake.add_item(str(item_id), body)
    return [taobao(i) for i in ids]


@dataclass
class Rig:
    service: LookupService
    ledger: QuotaLedger
    counters: DailyCounters
    pacer: Pacer

    async def ask(
        self, ref: ItemRef, user_id: int = 1, chat_id: int | None = None, lang: str = "en"
    ) -> LookupResult:
        return await self.service.lookup(
            ref, user_id=user_id, chat_id=chat_id, lang=lang, is_admin=False
        )


@asynccontextmanager
async def rig(
    store: Redis,
    fake: FakeCatBuy,
    *,
    user_quota: int = 50,
    chat_quota: int = 300,
    budget: int = 1000,
    rps: float = 40,
    lookup_seconds: float = 5.0,
    base_url: str | None = None,
    **cache_options: float,
) -> AsyncIterator[Rig]:
    client = CatBuyClient(base_url or fake.base_url, SecretStr(KEY), timeout=lookup_seconds)
    pacer = Pacer(store, rps=rps, max_wait=20)
    gate = UpstreamGate(pacer, Breaker(store, cooldown_seconds=60))
    ledger = QuotaLedger(store, user_quota=user_quota, chat_quota=chat_quota, daily_budget=budget)
    counters = DailyCounters(store)
    cache = ItemCache(store, ttl_seconds=3600, **{"failure_ttl": 0.5, **cache_options})
    service = LookupService(client, gate, ledger, cache, counters, timeout=lookup_seconds)
    try:
        yield Rig(service, ledger, counters, pacer)
    finally:
        await pacer.aclose()
        await cache.aclose()
        await counters.flush()
        await client.aclose()


@pytest.fixture
async def fake() -> AsyncIterator[FakeCatBuy]:
    async with FakeCatBuy(KEY, rps=50) as upstream:
        yield upstream


async def test_concurrency_never_overspends_a_quota(store: Redis, fake: FakeCatBuy) -> None:
    refs = register_items(fake, range(500_000_000_000, 500_000_000_100))
    async with rig(store, fake, user_quota=10) as r:
        results = await asyncio.gather(*(r.ask(ref) for ref in refs))
    assert fake.calls == 10
    assert sum(isinstance(x, Found) for x in results) == 10
    refused = [x for x in results if isinstance(x, Refused)]
    assert {x.kind for x in refused} == {Failure.USER_QUOTA}
    assert all(x.reset_seconds and 0 < x.reset_seconds <= 86400 for x in refused)


async def test_identical_look_ups_make_one_call_and_one_charge(
    store: Redis, fake: FakeCatBuy
) -> None:
    async with rig(store, fake) as r:
        results = await asyncio.gather(*(r.ask(TAOBAO, user_id=u) for u in range(50)))
        stats = await r.counters.snapshot()
        budget_used = (await r.ledger.remaining(0)).budget_used
    assert fake.calls == 1
    assert all(isinstance(x, Found) for x in results)
    assert sum(isinstance(x, Found) and not x.coalesced for x in results) == 1
    assert budget_used == 1
    assert stats.paid_lookups == 1
    assert stats.coalesced == 49


async def test_a_cached_item_is_free_and_keyed_by_language(store: Redis, fake: FakeCatBuy) -> None:
    async with rig(store, fake) as r:
        first = await r.ask(TAOBAO)
        again = await r.ask(TAOBAO, user_id=2)
        other_language = await r.ask(TAOBAO, user_id=2, lang="ru")
        status = await r.ledger.remaining(2)
        stats = await r.counters.snapshot()
    assert isinstance(first, Found) and not first.cached
    assert isinstance(again, Found) and again.cached
    assert again.item == first.item
    assert isinstance(other_language, Found) and not other_language.cached
    assert fake.calls == 2
    assert status.user_used == 1
    assert (stats.cache_hits, stats.paid_lookups) == (1, 2)
    assert [r.form.get("searchlang") for r in fake.requests] == ["en", "ru"]


async def test_an_unreadable_cache_entry_is_fetched_again(store: Redis, fake: FakeCatBuy) -> None:
    # What an older release might have left: not an Item this release can read.
    await store.set(f"cb:item:taobao:{TAOBAO.item_id}:en", b'I{"title": 5}')
    async with rig(store, fake) as r:
        result = await r.ask(TAOBAO)
    assert isinstance(result, Found) and not result.cached
    assert fake.calls == 1


@pytest.mark.parametrize("failure", [500, "drop", "html"])
async def test_a_failed_look_up_that_may_be_billed_is_charged(
    store: Redis, fake: FakeCatBuy, failure: int | str
) -> None:
    """The request left: the upstream may have billed it, so it counts like a found item."""
    fake.force(failure)  # type: ignore[arg-type]
    async with rig(store, fake, user_quota=2, hold_seconds=0.5) as r:
        result = await r.ask(TAOBAO, chat_id=-100)
        status = await r.ledger.remaining(1, -100)
        await asyncio.sleep(0.6)  # the item's hold ends
        retry = await r.ask(TAOBAO, chat_id=-100)
        stats = await r.counters.snapshot()
    assert result == Refused(Failure.UPSTREAM_ERROR, held=True)
    assert (status.user_used, status.chat_used, status.budget_used) == (1, 1, 1)
    assert isinstance(retry, Found)
    # /stats counts the failed call among the paid look-ups: it agrees with the budget.
    assert stats.paid_lookups == 2


async def test_a_hung_upstream_times_out_and_is_charged(store: Redis, fake: FakeCatBuy) -> None:
    fake.force("hang")
    async with rig(store, fake, user_quota=1, lookup_seconds=1.0) as r:
        result = await r.ask(TAOBAO)
        status = await r.ledger.remaining(1)
    assert result == Refused(Failure.TIMEOUT, held=True)
    assert (status.user_used, status.budget_used) == (1, 1)


async def test_a_look_up_cut_off_from_outside_gives_the_quota_back(
    store: Redis, fake: FakeCatBuy
) -> None:
    """Cancelled mid-call (a shutdown, the last guard): the user gets no card, nor a charge."""
    fake.force("hang")
    async with rig(store, fake, user_quota=1) as r:
        asking = asyncio.ensure_future(r.ask(TAOBAO))
        await asyncio.wait_for(fake.received.wait(), 5)
        asking.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asking
        status = await r.ledger.remaining(1)
    assert status.user_used == 0
    assert status.budget_used == 1  # the request went out: it may be billed


async def test_an_unreachable_upstream_gives_the_budget_back_too(
    store: Redis, fake: FakeCatBuy
) -> None:
    """No connection, no request: nothing was billed, so an outage spends no budget."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    async with rig(store, fake, budget=3, base_url=f"http://127.0.0.1:{closed}/api/v1") as r:
        results = [await r.ask(taobao(500_000_000_200 + i)) for i in range(5)]
        status = await r.ledger.remaining(1)
    assert set(results) == {Refused(Failure.UPSTREAM_ERROR)}
    assert (status.user_used, status.budget_used) == (0, 0)


# 400 invalid_url for the URL the bot built itself is, like "not found", the
# same answer on every try, and the upstream may have billed it.
@pytest.mark.parametrize("refused", ["not found", "invalid_url"])
async def test_not_found_is_charged_once_then_free(
    store: Redis, fake: FakeCatBuy, refused: str
) -> None:
    ref = MISSING
    if refused == "invalid_url":
        fake.force("invalid_url")
        ref = TAOBAO
    async with rig(store, fake) as r:
        first = await r.ask(ref)
        again = await r.ask(ref)
        status = await r.ledger.remaining(1)
    assert first == again == Refused(Failure.NOT_FOUND)
    assert fake.calls == 1
    assert (status.user_used, status.budget_used) == (1, 1)


async def test_group_quota_and_budget_refuse_and_admins_hear_once(
    store: Redis, fake: FakeCatBuy
) -> None:
    refs = register_items(fake, range(600_000_000_000, 600_000_000_006))
    async with rig(store, fake, chat_quota=2, budget=3) as r:
        in_group = [await r.ask(ref, user_id=i, chat_id=-100) for i, ref in enumerate(refs[:3])]
        budget = [await r.ask(ref, user_id=9) for ref in refs[3:]]
    assert [x.outcome for x in in_group] == ["found", "found", "chat_quota"]
    assert [x.outcome for x in budget] == ["found", "budget", "budget"]
    notices = [x.notify_admins for x in budget if x.notify_admins]
    assert [n.kind for n in notices] == [NoticeKind.BUDGET_EXHAUSTED]
    assert fake.calls == 3


async def test_402_pauses_look_ups_refunds_and_tells_admins_once(
    store: Redis, fake: FakeCatBuy
) -> None:
    fake.force(402, times=None)
    async with rig(store, fake, user_quota=5) as r:
        first = await r.ask(TAOBAO)
        second = await r.ask(taobao(123))
        status = await r.ledger.remaining(1)
    assert isinstance(first, Refused) and first.kind is Failure.BREAKER_OPEN
    assert first.reason is BreakerReason.BALANCE
    assert first.notify_admins is not None and first.notify_admins.reason is BreakerReason.BALANCE
    assert second == Refused(Failure.BREAKER_OPEN, reason=BreakerReason.BALANCE)
    assert fake.calls == 1
    assert (status.user_used, status.budget_used) == (0, 0)


async def test_a_joiner_is_not_refused_for_the_leaders_quota(
    store: Redis, fake: FakeCatBuy
) -> None:
    async with rig(store, fake, user_quota=1) as r:
        await r.ask(taobao(712455609913), user_id=1)
        spent, fresh = await asyncio.gather(r.ask(TAOBAO, user_id=1), r.ask(TAOBAO, user_id=2))
    assert isinstance(spent, Refused) and spent.kind is Failure.USER_QUOTA
    assert isinstance(fresh, Found)
    assert fake.calls == 2


async def test_a_flood_is_told_busy_and_not_charged_for_it(store: Redis, fake: FakeCatBuy) -> None:
    refs = register_items(fake, range(700_000_000_000, 700_000_000_020))
    async with rig(store, fake, rps=4, lookup_seconds=3.0) as r:
        results = await asyncio.gather(*(r.ask(ref) for ref in refs))
        status = await r.ledger.remaining(1)
    found = sum(isinstance(x, Found) for x in results)
    assert {x.outcome for x in results} == {"found", "busy"}
    assert status.user_used == found == fake.calls


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


async def test_store_outage_fails_closed_then_recovers(
    own_redis: RedisServer, fake: FakeCatBuy
) -> None:
    store = open_store(own_redis.url)
    async with rig(store, fake) as r:
        assert isinstance(await r.ask(TAOBAO), Found)
        own_redis.stop()
        down = await asyncio.wait_for(r.ask(taobao(712455609913)), timeout=5)
        cached_down = await asyncio.wait_for(r.ask(TAOBAO), timeout=5)
        own_redis.start()
        back = await r.ask(taobao(712455609913))
    await store.aclose()
    assert down == Refused(Failure.STORE_DOWN)  # paid look-ups fail closed
    assert isinstance(cached_down, Found) and cached_down.cached  # seen here just now
    assert isinstance(back, Found)
    assert fake.calls == 2


class CountingConnection(Connection):
    """A Redis connection that counts the requests it sends (a pipeline counts once)."""

    sent = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sent += 1
        await super().send_packed_command(command, check_health)


async def test_look_ups_cost_few_store_round_trips(
    redis_server: RedisServer, fake: FakeCatBuy
) -> None:
    """Each round trip is time a shopper waits: the counts are part of the design."""
    store = Redis(
        connection_pool=ConnectionPool.from_url(
            redis_server.url, connection_class=CountingConnection
        )
    )
    await store.flushall()
    first, second = register_items(fake, range(500_000_000_300, 500_000_000_302))
    async with rig(store, fake) as r:
        await r.ask(first)  # loads the scripts
        await asyncio.sleep(COLD_ALLOWANCE + r.pacer.interval)  # past the first call's claim

        CountingConnection.sent = 0
        assert isinstance(await r.ask(second), Found)
        await asyncio.sleep(0.05)  # the answer is published in the background
        # cache-or-lock with the charge and a pacing slot, publish-and-release
        # (the breaker was read a moment ago, by the first look-up)
        assert CountingConnection.sent == 2

        CountingConnection.sent = 0
        result = await r.ask(second, user_id=2)
        assert isinstance(result, Found) and result.cached
        assert CountingConnection.sent == 0  # seen here just now; counters are written later

    async with rig(store, fake) as other_replica:
        CountingConnection.sent = 0
        result = await other_replica.ask(second, user_id=3)
        assert isinstance(result, Found) and result.cached
        assert CountingConnection.sent == 1
    await store.aclose()


async def test_a_dropped_store_reply_charges_a_look_up_once(
    redis_server: RedisServer, fake: FakeCatBuy
) -> None:
    """Redis ran the entry, the connection dropped before its reply: redis-py sends it
    again, and the look-up goes on with the first run's lock and charge."""
    first, second = register_items(fake, range(500_000_000_400, 500_000_000_402))
    async with ReplyDroppingProxy(redis_server.port) as proxy:
        store = open_store(proxy.url)
        await store.flushall()
        async with rig(store, fake, user_quota=5, budget=5) as r:
            await r.ask(first, user_id=9)  # loads the scripts
            proxy.drop_reply_to(sha(_ENTER))
            started = asyncio.get_running_loop().time()
            result = await r.ask(second, chat_id=-100)
            took = asyncio.get_running_loop().time() - started
            status = await r.ledger.remaining(1, -100)
        await store.aclose()
    assert proxy.dropped == 1
    assert isinstance(result, Found) and not result.cached
    assert (status.user_used, status.chat_used, status.budget_used - 1) == (1, 1, 1)
    assert fake.calls == 2
    assert took < 2.0  # no wait for a lock that was its own


async def test_a_dropped_store_reply_gives_a_charge_back_once(
    redis_server: RedisServer, fake: FakeCatBuy
) -> None:
    """A refund that Redis ran, whose reply was lost: sent again, it gives back nothing more."""
    first, second = register_items(fake, range(500_000_000_500, 500_000_000_502))
    async with ReplyDroppingProxy(redis_server.port) as proxy:
        store = open_store(proxy.url)
        await store.flushall()
        async with rig(store, fake, user_quota=5, budget=5) as r:
            await r.ask(first, chat_id=-100)  # found: one unit of each used
            for script in REFUNDS:
                await store.script_load(script)
            fake.force(429, times=None)  # unbilled: the whole charge comes back
            proxy.drop_reply_to(*(sha(script) for script in REFUNDS))
            result = await r.ask(second, chat_id=-100)
            status = await r.ledger.remaining(1, -100)
        await store.aclose()
    assert isinstance(result, Refused) and not result.held
    assert proxy.dropped == 1
    assert (status.user_used, status.chat_used, status.budget_used) == (1, 1, 1)


REFUNDS = (_GIVE_BACK, _REFUND)


def sha(script: str) -> bytes:
    return hashlib.sha1(script.encode()).hexdigest().encode()
