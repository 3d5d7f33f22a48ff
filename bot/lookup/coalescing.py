"""Identical look-ups in flight make one upstream call, and only the first is charged.

In this process they share one fetch (``bot.balance.in_flight.InFlight``).
Across processes the item's fetch lock, asked for with the cached answer and
the charge in one round trip (``bot.lookup.admission``), names the one that
fetches; the others wait for the answer it publishes
(``bot.lookup.item_cache``), and take over when it vanishes without one. A
joiner refused for the leader's own reasons (its user's or group's quota,
its queue) tries for itself; every other answer, a held failure included, is
shared free.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from redis.exceptions import RedisError

from bot.balance.in_flight import InFlight
from bot.balance.upstream_gate import StoreDown
from bot.items.item import ItemRef
from bot.lookup.admission import Admission, Answered, Locked
from bot.lookup.item_cache import CacheEntry, EntryKind, ItemCache
from bot.lookup.paid_call import Ask, PaidCall
from bot.lookup.results import Failure, Found, LookupResult, Refused

# Refusals about the leader's own user or deadline: a joiner tries for itself.
_PERSONAL = frozenset({Failure.USER_QUOTA, Failure.CHAT_QUOTA, Failure.BUSY})


class SharedLookups:
    """Runs each look-up once for all the identical ones in flight."""

    def __init__(self, admission: Admission, cache: ItemCache, paid: PaidCall) -> None:
        self._admission = admission
        self._cache = cache
        self._paid = paid
        self._inflight: InFlight[LookupResult] = InFlight()

    async def run(self, ask: Ask) -> LookupResult:
        """The result for ``ask``: its own, or the one another identical look-up got."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                # A last guard: the work bounds itself by the deadline, and a
                # first caller cut off here leaves the work to a joiner.
                async with asyncio.timeout_at(ask.deadline + 0.5):
                    result, joined = await self._inflight.run(
                        (ask.ref.key, ask.lang), lambda: self._resolve(ask)
                    )
            except TimeoutError:
                return Refused(Failure.TIMEOUT)
            if not joined:
                return result
            if isinstance(result, Refused) and result.kind in _PERSONAL:
                if loop.time() >= ask.deadline:
                    return Refused(Failure.TIMEOUT)
                continue
            # Only the leader's result carries the admin notice: tell them once.
            if isinstance(result, Found):
                return replace(result, coalesced=not result.cached, notify_admins=None)
            return replace(result, notify_admins=None)

    async def cached(self, ref: ItemRef, lang: str) -> LookupResult | None:
        """The answer in the cache (an item, "not found", a held failure), if any."""
        entry = await self._cache.get(ref, lang)
        return None if entry is None else _from_entry(entry, cached=True)

    async def _resolve(self, ask: Ask) -> LookupResult:
        """The in-process leader: the cached answer, or the cross-process lock (and the
        charge) or its holder's answer."""
        ref, lang = ask.ref, ask.lang
        try:
            entered = await self._enter(ask)
            if isinstance(entered, Answered):
                return _from_entry(entered.entry, cached=True)
            while entered is None:
                try:
                    async with asyncio.timeout_at(ask.deadline):
                        entry = await self._cache.wait_for_answer(ref, lang)
                except TimeoutError:
                    return Refused(Failure.TIMEOUT)
                if entry is not None:
                    return _from_entry(entry, cached=False, coalesced=True)
                # The holder vanished without an answer: take over.
                entered = await self._enter(ask)
                if isinstance(entered, Answered):
                    return _from_entry(entered.entry, cached=False, coalesced=True)
            # Not under the wait's timeout: the paid call bounds itself and refunds.
            async with self._cache.holding(ref, lang, entered.token) as lock:
                result = await self._paid.run(ask, entered)
                lock.publish(_entry_for(result))
                return result
        except (RedisError, StoreDown):
            return Refused(Failure.STORE_DOWN)

    async def _enter(self, ask: Ask) -> Answered | Locked | None:
        return await self._admission.enter(
            ask.ref, ask.lang, ask.user_id, ask.chat_id, exempt_user=ask.is_admin
        )


def _from_entry(entry: CacheEntry, *, cached: bool, coalesced: bool = False) -> LookupResult:
    if entry.kind is EntryKind.ITEM and entry.item is not None:
        return Found(entry.item, cached=cached, coalesced=coalesced)
    if entry.kind is EntryKind.NOT_FOUND:
        return Refused(Failure.NOT_FOUND)
    failure = Failure(entry.failure or Failure.UPSTREAM_ERROR.value)
    return Refused(failure, held=entry.kind is EntryKind.HELD)


def _entry_for(result: LookupResult) -> CacheEntry | None:
    """What the lock holder shares: the item, "not found", an upstream failure (held
    when it may have been billed); else nothing."""
    if isinstance(result, Found):
        return CacheEntry(EntryKind.ITEM, item=result.item)
    if result.kind is Failure.NOT_FOUND:
        return CacheEntry(EntryKind.NOT_FOUND)
    if result.held:
        return CacheEntry(EntryKind.HELD, failure=result.kind.value)
    if result.kind is Failure.UPSTREAM_ERROR:
        return CacheEntry(EntryKind.FAILED, failure=Failure.UPSTREAM_ERROR.value)
    return None
