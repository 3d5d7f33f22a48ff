"""A paid call's charge and its free upstream slot, in one round trip."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot.admission import Admission
from bot.ledger import Limit, QuotaLedger
from bot.pacing import Pacer

PREFIX = "cb:pace"


def parts(store: Redis, *, user_quota: int = 5) -> tuple[Admission, QuotaLedger, Pacer]:
    ledger = QuotaLedger(store, user_quota=user_quota, chat_quota=50, daily_budget=50)
    pacer = Pacer(store, rps=2, prefix=PREFIX)
    return Admission(store, ledger, pacer), ledger, pacer


async def slot_keys(store: Redis) -> list[bytes | None]:
    return [await store.get(f"{PREFIX}:tat"), await store.get(f"{PREFIX}:last")]


async def test_an_accepted_charge_takes_the_free_slot_with_it(store: Redis) -> None:
    admission, ledger, pacer = parts(store)
    charge, paced = await admission.charge(1, -100, exempt_user=False)
    assert charge.accepted and paced
    assert None not in await slot_keys(store)
    assert (await ledger.remaining(1)).user_used == 1
    # The slot is taken: the next call waits its turn, charged all the same.
    charge, paced = await admission.charge(2, -100, exempt_user=False)
    assert charge.accepted and not paced
    assert not await pacer.take_if_free(3)
    await pacer.aclose()


async def test_a_refused_charge_takes_no_slot(store: Redis) -> None:
    admission, ledger, pacer = parts(store, user_quota=1)
    await ledger.charge(1, None, exempt_user=False)  # the user's one look-up today
    charge, paced = await admission.charge(1, None, exempt_user=False)
    assert charge.refused is Limit.USER and not paced
    assert await slot_keys(store) == [None, None]
    assert await pacer.take_if_free(2)  # still free for the next user
    await pacer.aclose()


async def test_while_this_process_queues_the_charge_goes_alone(store: Redis) -> None:
    admission, _ledger, pacer = parts(store)
    assert await pacer.take_if_free(1)
    queued = asyncio.create_task(pacer.acquire(2))  # waits for the next slot
    await asyncio.sleep(0.05)
    assert pacer.waiting == 1
    tat_before = await store.get(f"{PREFIX}:tat")
    charge, paced = await admission.charge(3, None, exempt_user=False)
    assert charge.accepted and not paced
    assert await store.get(f"{PREFIX}:tat") == tat_before  # no slot asked for
    await queued
    await pacer.aclose()
