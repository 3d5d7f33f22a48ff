"""The look-up service: an item reference in, a product or a refusal out.

The order guards the balance: the cache (free) → coalescing (identical
look-ups in flight share one fetch, in this process and across replicas) →
the quota ledger (charged all-or-nothing) → the gate (the breaker, then the
user's fair, paced turn and 429 retries) → the upstream → the cache.

A call that may have been billed is charged like a found item, whatever its
answer: a broken one, a 5xx, a timeout after the request left. Only a call
that never left, or that the upstream refused without billing (401, 402,
429), gives the charge back, quota and budget. A failure that may have been
billed holds the item (``bot.lookup.item_cache``): re-pastes get the same
answer, free, so no user causes more possibly-billed calls than their quota.
The whole look-up is bounded by ``CATBUY_TIMEOUT_SECONDS``.

The parts, one module each: what a look-up ends in (``results``), the way in
(``admission``: the cache, the lock, the charge and a free upstream slot in
one round trip), sharing (``coalescing``), the call (``paid_call``) and what
it costs in the end (``settlement``). Handlers turn the result into words.
"""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError

from bot.balance.daily_usage import Counter, DailyCounters, DailyStats
from bot.balance.ledger import QuotaLedger, QuotaStatus
from bot.balance.upstream_gate import StoreDown, UpstreamGate
from bot.items.item import ItemRef
from bot.lookup.admission import Admission, Locked
from bot.lookup.coalescing import SharedLookups
from bot.lookup.item_cache import ItemCache
from bot.lookup.paid_call import Ask, ItemSource, PaidCall
from bot.lookup.results import (
    AdminNotice,
    Failure,
    Found,
    LookupResult,
    NoticeKind,
    Refused,
)
from bot.lookup.settlement import Settlement

# The result types, where callers of the service find them too.
__all__ = [
    "AdminNotice",
    "Failure",
    "Found",
    "LookupResult",
    "LookupService",
    "NoticeKind",
    "Refused",
]

log = logging.getLogger(__name__)

_FAILURE_COUNTER = {
    Failure.NOT_FOUND: Counter.NOT_FOUND,
    Failure.USER_QUOTA: Counter.REFUSED_USER,
    Failure.CHAT_QUOTA: Counter.REFUSED_CHAT,
    Failure.BUDGET: Counter.REFUSED_BUDGET,
    Failure.BREAKER_OPEN: Counter.REFUSED_BREAKER,
    Failure.BUSY: Counter.BUSY,
    Failure.TIMEOUT: Counter.TIMEOUTS,
}


class LookupService:
    """Finds products for handlers while guarding the operator's balance.

    ``share=False`` turns the cache and coalescing off (benchmarks only).
    """

    def __init__(
        self,
        client: ItemSource,
        gate: UpstreamGate,
        ledger: QuotaLedger,
        cache: ItemCache,
        counters: DailyCounters,
        *,
        timeout: float,
        share: bool = True,
    ) -> None:
        self._ledger = ledger
        self._admission = Admission(ledger.store, cache, ledger, gate.pacer)
        self._counters = counters
        self._timeout = timeout
        self._share = share
        settlement = Settlement(ledger, self._admission, counters)
        self._paid = PaidCall(client, gate, ledger, settlement, counters, timeout=timeout)
        self._shared = SharedLookups(self._admission, cache, self._paid)

    async def lookup(
        self, ref: ItemRef, *, user_id: int, chat_id: int | None, lang: str, is_admin: bool
    ) -> LookupResult:
        """Look ``ref`` up for ``user_id``; ``chat_id`` is the group, None in private."""
        deadline = asyncio.get_running_loop().time() + self._timeout
        ask = Ask(ref, user_id, chat_id, lang, is_admin, deadline)
        try:
            result = await self._run(ask)
        except (RedisError, StoreDown):
            log.warning("store unreachable: look-up refused")
            result = Refused(Failure.STORE_DOWN)
        self._count(result)
        return result

    async def cached(self, ref: ItemRef, lang: str) -> LookupResult | None:
        """The cached answer, free (no quota, no upstream call); None when nothing is
        cached or the store is unreachable (a look-up then decides)."""
        try:
            result = await self._shared.cached(ref, lang)
        except RedisError:
            return None
        if result is not None:
            self._count(result)
        return result

    async def aclose(self) -> None:
        """At shutdown: stop the background work."""
        await self._admission.aclose()

    async def quota(
        self, user_id: int, chat_id: int | None = None, *, is_admin: bool
    ) -> QuotaStatus:
        """What ``/quota`` shows: ``chat_id`` is the group asked in, None in private
        (raises the store's error when it is unreachable)."""
        return await self._ledger.remaining(user_id, chat_id, exempt_user=is_admin)

    def note_group(self, chat_id: int, title: str | None) -> None:
        """Remember a group's title for the daily figures (written with the counts)."""
        self._counters.note_group(chat_id, title)

    def count_flood(self) -> None:
        """A paste not looked up: its chat's cards could not be sent soon."""
        self._counters.count(Counter.REFUSED_FLOOD)

    async def daily_stats(self) -> DailyStats:
        """What ``/stats`` shows (raises the store's error when it is unreachable)."""
        return await self._counters.snapshot()

    async def _run(self, ask: Ask) -> LookupResult:
        if self._share:
            return await self._shared.run(ask)
        charge = await self._ledger.charge(ask.user_id, ask.chat_id, exempt_user=ask.is_admin)
        return await self._paid.run(ask, Locked("", charge, paced=False))

    def _count(self, result: LookupResult) -> None:
        if isinstance(result, Found):
            if result.cached:
                self._counters.count(Counter.CACHE_HITS)
            elif result.coalesced:
                self._counters.count(Counter.COALESCED)
        elif (counter := _FAILURE_COUNTER.get(result.kind)) is not None:
            self._counters.count(counter)
