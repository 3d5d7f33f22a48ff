"""Failed look-ups cost what they may have cost upstream, and are held so they are not bought again.

A call that left and may have been billed (a broken 200, an HTML 5xx page, a
hang past the timeout) is charged like a found item; the item's failure is
then held, shared by every replica, and every re-paste in that time gets the
same short answer, free. Only calls that never left, or that the upstream
refused without billing (401, 402, 429), are given back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.items.item import ItemRef
from bot.lookup.results import Failure, Found, Refused
from tests.fakes.catbuy_server import FakeCatBuy
from tests.fakes.telegram import message_update
from tests.harness import running_bot
from tests.test_lookup import KEY, TAOBAO, register_items, rig, taobao

BROKEN = taobao(810_000_000_001)  # HTTP 200, a body cut short
NULL_DATA = taobao(810_000_000_002)  # HTTP 200, {"code": 1, "data": null}
HTML_500 = taobao(810_000_000_003)  # an HTML error page with status 500
HANGING = taobao(810_000_000_004)  # no answer before the timeout


@pytest.fixture
async def fake() -> AsyncIterator[FakeCatBuy]:
    async with FakeCatBuy(KEY, rps=50) as upstream:
        upstream.fail_item(BROKEN.item_id, "invalid_json")
        upstream.add_item(NULL_DATA.item_id, {"code": 1, "msg": "ok", "data": None})
        upstream.fail_item(HTML_500.item_id, "html500")
        upstream.fail_item(HANGING.item_id, "hang")
        yield upstream


def calls_for(fake: FakeCatBuy, ref: ItemRef) -> int:
    return sum(1 for r in fake.requests if ref.item_id in r.form.get("url", ""))


async def test_re_pasting_failing_items_costs_no_more_than_the_quota(
    store: Redis, fake: FakeCatBuy
) -> None:
    good = register_items(fake, range(810_000_000_100, 810_000_000_102))
    async with rig(store, fake, user_quota=2, budget=4, lookup_seconds=1.0) as r:
        results = [
            await r.ask(ref, chat_id=-100)
            for _ in range(4)
            for ref in (BROKEN, NULL_DATA, HTML_500, HANGING)
        ]
        attacker = await r.ledger.remaining(1, -100)
        others = [await r.ask(ref, user_id=2) for ref in good]
        again = await r.ask(BROKEN, user_id=3)
        status = await r.ledger.remaining(3)
    assert not any(isinstance(x, Found) for x in results)
    assert calls_for(fake, BROKEN) + calls_for(fake, NULL_DATA) == 2
    assert fake.calls == 2 + len(good)
    # Both calls may have been billed: they count like found items.
    assert (attacker.user_used, attacker.chat_used) == (2, 2)
    assert {x.kind for x in results[2:]} >= {Failure.USER_QUOTA}
    # Every other user still has the budget the attacker did not spend.
    assert all(isinstance(x, Found) for x in others)
    # Within the hold, the failed item is answered again, free, for anyone.
    assert again == Refused(Failure.UPSTREAM_ERROR, held=True)
    assert (status.user_used, status.budget_used) == (0, 4)


@pytest.mark.parametrize("ref", [BROKEN, NULL_DATA, HTML_500, HANGING])
async def test_a_failed_item_is_held_then_tried_once_again(
    store: Redis, fake: FakeCatBuy, ref: ItemRef
) -> None:
    async with rig(store, fake, lookup_seconds=1.0, hold_seconds=1.0, max_hold_seconds=5.0) as r:
        first = await r.ask(ref)
        held = [await r.ask(ref, user_id=u) for u in (1, 2, 3)]
        charged = [(await r.ledger.remaining(u)).user_used for u in (1, 2, 3)]
        await asyncio.sleep(1.1)  # the hold ends: one more call is allowed
        retry = await r.ask(ref, user_id=2)
        await asyncio.sleep(1.1)  # ... and the next hold is longer
        still_held = await r.ask(ref, user_id=3)
    assert isinstance(first, Refused) and first.held
    assert all(x == first for x in held)
    assert charged == [1, 0, 0]
    assert retry == first
    assert still_held == first
    assert calls_for(fake, ref) == 2


async def test_waiters_on_another_replica_share_the_failure_free(
    store: Redis, fake: FakeCatBuy
) -> None:
    """A hang on one replica: the look-up waiting on another gets its timeout, not a call."""
    async with (
        rig(store, fake, lookup_seconds=1.0) as first,
        rig(store, fake, lookup_seconds=1.0) as second,
    ):
        leader = asyncio.ensure_future(first.ask(HANGING, user_id=1))
        await asyncio.wait_for(fake.received.wait(), 5)
        await asyncio.sleep(0.3)  # the waiter's own time outlasts the leader's
        waiter = await second.ask(HANGING, user_id=2)
        led = await leader
        later = await second.ask(HANGING, user_id=3)
        used = [(await first.ledger.remaining(u)).user_used for u in (1, 2, 3)]
    assert led == waiter == later == Refused(Failure.TIMEOUT, held=True)
    assert fake.calls == 1
    assert used == [1, 0, 0]


async def test_identical_failing_look_ups_at_once_charge_one_user(
    store: Redis, fake: FakeCatBuy
) -> None:
    fake.latency = 0.2
    async with rig(store, fake) as r:
        results = await asyncio.gather(*(r.ask(HTML_500, user_id=u) for u in range(5)))
        used = [(await r.ledger.remaining(u)).user_used for u in range(5)]
    assert {x.outcome for x in results} == {Failure.UPSTREAM_ERROR.value}
    assert fake.calls == 1
    assert sum(used) == 1


async def test_an_admin_re_pasting_a_failing_item_spends_one_budget_unit(
    store: Redis, fake: FakeCatBuy
) -> None:
    async with rig(store, fake, user_quota=1, budget=3) as r:
        for _ in range(10):
            await r.service.lookup(BROKEN, user_id=7, chat_id=None, lang="en", is_admin=True)
        status = await r.ledger.remaining(7, exempt_user=True)
        found = await r.ask(TAOBAO, user_id=8)
    assert status.budget_used == 1
    assert isinstance(found, Found) and fake.calls == 2


@pytest.mark.parametrize("refusal", [401, 402, 429])
async def test_refusals_the_upstream_does_not_bill_are_given_back(
    store: Redis, fake: FakeCatBuy, refusal: int
) -> None:
    fake.force(refusal, times=None)  # type: ignore[arg-type]
    async with rig(store, fake, user_quota=1) as r:
        result = await r.ask(TAOBAO, chat_id=-100)
        status = await r.ledger.remaining(1, -100)
        stats = await r.counters.snapshot()
    assert isinstance(result, Refused) and not result.held
    assert (status.user_used, status.chat_used, status.budget_used) == (0, 0, 0)
    assert stats.paid_lookups == 0


async def test_through_the_bot_re_pastes_of_failing_links_buy_no_more_than_the_quota(
    redis_url: str, catbuy: FakeCatBuy
) -> None:
    """The whole bot: each paste is answered briefly, and only two calls are made."""
    catbuy.fail_item(BROKEN.item_id, "invalid_json")
    catbuy.fail_item(HTML_500.item_id, "html500")
    catbuy.fail_item(HANGING.item_id, "hang")
    links = [ref.canonical_url for ref in (BROKEN, HTML_500, HANGING)]
    async with running_bot(
        redis_url,
        catbuy,
        user_daily_quota=2,
        daily_budget_requests=3,
        catbuy_timeout_seconds=1,
    ) as bot:
        for _ in range(4):
            for link in links:
                await bot.feed(message_update(link, user_id=5))
        answers = bot.messages()
        calls = catbuy.calls
        bot.clear()
        await bot.feed(message_update(TAOBAO.canonical_url, user_id=6))
        cards = bot.cards()
    assert calls == 2
    assert len(answers) == 12
    assert all("<html" not in a.lower() and "Traceback" not in a for a in answers)
    assert len(cards) == 1
