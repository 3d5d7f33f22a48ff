"""The look-up service: an item reference in, a product or a refusal out.

The order guards the balance: the cache (free) → coalescing (identical
look-ups in flight share one fetch, in this process and across replicas) →
the quota ledger (charged all-or-nothing) → the gate (the breaker, then the
user's fair, paced turn and 429 retries) → the upstream → the cache. A
failure gives the quota back as the ledger's rules say (all of it when the
breaker refused); the whole look-up is bounded by ``CATBUY_TIMEOUT_SECONDS``.
The cache, the lock, the charge and a free upstream slot take one round trip
(``bot.lookup.admission``).
Handlers turn the result into words.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from redis.exceptions import RedisError

from bot.balance.breaker import BreakerReason
from bot.balance.daily_usage import Counter, DailyCounters, DailyStats
from bot.balance.in_flight import InFlight
from bot.balance.ledger import Charge, Limit, QuotaLedger, QuotaStatus
from bot.balance.upstream_gate import BreakerOpen, Busy, StoreDown, UpstreamGate
from bot.catbuy.errors import (
    CatBuyError,
    InvalidUrl,
    ItemNotFound,
    RateLimited,
    UpstreamTimeout,
)
from bot.items.item import Item, ItemRef
from bot.lookup.admission import Admission, Answered, Locked
from bot.lookup.item_cache import CacheEntry, EntryKind, ItemCache

log = logging.getLogger(__name__)


class Failure(StrEnum):
    """Why a look-up gave no product."""

    NOT_FOUND = "not_found"
    USER_QUOTA = "user_quota"
    CHAT_QUOTA = "chat_quota"
    BUDGET = "budget"
    BREAKER_OPEN = "breaker_open"
    BUSY = "busy"
    TIMEOUT = "timeout"
    UPSTREAM_ERROR = "upstream_error"
    STORE_DOWN = "store_down"


class NoticeKind(StrEnum):
    """What admins should be told."""

    BUDGET_EXHAUSTED = "budget_exhausted"
    BREAKER_OPEN = "breaker_open"


@dataclass(frozen=True, slots=True)
class AdminNotice:
    """Tell every admin, in private: set on exactly one result per day / cooldown."""

    kind: NoticeKind
    reason: BreakerReason | None = None


@dataclass(frozen=True, slots=True)
class Found:
    """The product. ``cached``: from the cache; ``coalesced``: shared another's fetch."""

    item: Item
    cached: bool = False
    coalesced: bool = False
    notify_admins: AdminNotice | None = None

    @property
    def outcome(self) -> str:
        return "found"


@dataclass(frozen=True, slots=True)
class Refused:
    """No product: ``kind`` says why; ``reset_seconds`` for quotas, ``reason`` for the breaker."""

    kind: Failure
    reset_seconds: int | None = None
    reason: BreakerReason | None = None
    notify_admins: AdminNotice | None = None

    @property
    def outcome(self) -> str:
        return self.kind.value


LookupResult = Found | Refused

# Refusals about the leader's own user or deadline: a joiner tries for itself.
_PERSONAL = frozenset({Failure.USER_QUOTA, Failure.CHAT_QUOTA, Failure.BUSY})
_LIMIT_FAILURE = {Limit.USER: Failure.USER_QUOTA, Limit.CHAT: Failure.CHAT_QUOTA}
_FAILURE_COUNTER = {
    Failure.NOT_FOUND: Counter.NOT_FOUND,
    Failure.USER_QUOTA: Counter.REFUSED_USER,
    Failure.CHAT_QUOTA: Counter.REFUSED_CHAT,
    Failure.BUDGET: Counter.REFUSED_BUDGET,
    Failure.BREAKER_OPEN: Counter.REFUSED_BREAKER,
    Failure.BUSY: Counter.BUSY,
    Failure.TIMEOUT: Counter.TIMEOUTS,
}


class ItemSource(Protocol):
    """The upstream's product call: ``CatBuyClient.fetch_item``."""

    async def fetch_item(
        self, url: str, *, lang: str = "en", tid: str | None = None, ref: ItemRef | None = None
    ) -> Item: ...


@dataclass(frozen=True, slots=True)
class _Ask:
    """One look-up as asked: what, for whom, where, and until when."""

    ref: ItemRef
    user_id: int
    chat_id: int | None
    lang: str
    is_admin: bool
    deadline: float


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
        self._client = client
        self._gate = gate
        self._ledger = ledger
        self._admission = Admission(ledger.store, cache, ledger, gate.pacer)
        self._cache = cache
        self._counters = counters
        self._timeout = timeout
        self._share = share
        self._inflight: InFlight[LookupResult] = InFlight()
        # The call itself needs time too: stop queueing for a slot this early.
        self._call_reserve = min(2.0, timeout / 4)

    async def lookup(
        self, ref: ItemRef, *, user_id: int, chat_id: int | None, lang: str, is_admin: bool
    ) -> LookupResult:
        """Look ``ref`` up for ``user_id``; ``chat_id`` is the group, None in private."""
        deadline = asyncio.get_running_loop().time() + self._timeout
        ask = _Ask(ref, user_id, chat_id, lang, is_admin, deadline)
        try:
            result = await self._coalesced(ask)
        except (RedisError, StoreDown):
            log.warning("store unreachable: look-up refused")
            result = Refused(Failure.STORE_DOWN)
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

    def count_group_flood(self) -> None:
        """A paste not looked up: its group's cards could not be sent soon."""
        self._counters.count(Counter.REFUSED_GROUP_FLOOD)

    async def daily_stats(self) -> DailyStats:
        """What ``/stats`` shows (raises the store's error when it is unreachable)."""
        return await self._counters.snapshot()

    async def _coalesced(self, ask: _Ask) -> LookupResult:
        if not self._share:
            charge = await self._ledger.charge(ask.user_id, ask.chat_id, exempt_user=ask.is_admin)
            return await self._paid(ask, charge, paced=False)
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

    async def _resolve(self, ask: _Ask) -> LookupResult:
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
            # Not under the wait's timeout: _call bounds itself and refunds.
            async with self._cache.holding(ref, lang, entered.token) as lock:
                result = await self._paid(ask, entered.charge, entered.paced)
                lock.publish(_entry_for(result))
                return result
        except (RedisError, StoreDown):
            return Refused(Failure.STORE_DOWN)

    async def _enter(self, ask: _Ask) -> Answered | Locked | None:
        return await self._admission.enter(
            ask.ref, ask.lang, ask.user_id, ask.chat_id, exempt_user=ask.is_admin
        )

    async def _paid(self, ask: _Ask, charge: Charge, paced: bool) -> LookupResult:
        """The paced call once charged; refunds the way the rules say.

        ``paced``: a slot came with the charge. An open breaker refuses in the
        gate, and the charge is given back in full.
        """
        if charge.refused is Limit.BUDGET:
            due = await self._ledger.budget_exhausted_notice_due()
            notice = AdminNotice(NoticeKind.BUDGET_EXHAUSTED) if due else None
            return Refused(Failure.BUDGET, charge.reset_seconds, notify_admins=notice)
        if charge.refused is not None:
            return Refused(_LIMIT_FAILURE[charge.refused], charge.reset_seconds)
        return await self._call(ask.ref, ask.lang, charge, ask.deadline, paced)

    async def _call(
        self, ref: ItemRef, lang: str, charge: Charge, deadline: float, paced: bool
    ) -> LookupResult:
        started = False

        async def fetch() -> Item:
            nonlocal started
            started = True
            return await self._client.fetch_item(ref.canonical_url, lang=lang, ref=ref)

        slot_deadline = deadline - self._call_reserve
        try:
            async with asyncio.timeout_at(deadline):
                item = await self._gate.call(
                    charge.user_id, fetch, deadline=slot_deadline, paced=paced
                )
        except (TimeoutError, UpstreamTimeout) as exc:
            never_left = not started or (isinstance(exc, UpstreamTimeout) and not exc.sent)
            await self._settle(charge, billed=not never_left, refund_quota=True)
            return Refused(Failure.TIMEOUT)
        except asyncio.CancelledError:
            # Cut off from outside (a shutdown, the last guard in _coalesced): no
            # card, so no charge. Shielded: a second cancel must not stop the refund.
            await asyncio.shield(self._refund(charge, budget=not started))
            raise
        except Busy:
            await self._settle(charge, billed=False, refund_quota=True)
            return Refused(Failure.BUSY)
        except BreakerOpen as exc:
            await self._settle(charge, billed=False, refund_quota=True)
            notice = AdminNotice(NoticeKind.BREAKER_OPEN, exc.reason) if exc.notify_admins else None
            return Refused(Failure.BREAKER_OPEN, reason=exc.reason, notify_admins=notice)
        except StoreDown:
            await self._settle(charge, billed=False, refund_quota=True)
            return Refused(Failure.STORE_DOWN)
        except ItemNotFound:  # the upstream did the work: charged, and cached
            await self._settle(charge, billed=True, refund_quota=False)
            return Refused(Failure.NOT_FOUND)
        except InvalidUrl:
            # The upstream refuses the URL the bot built: the same answer on every
            # try, so it is cached as "not found"; the user did nothing wrong.
            await self._settle(charge, billed=True, refund_quota=True)
            return Refused(Failure.NOT_FOUND)
        except CatBuyError as exc:
            log.warning("upstream failed for %s: %s", ref.key, type(exc).__name__)
            self._counters.count(Counter.UPSTREAM_ERRORS)
            # A 429 was never served, nor a request that never left; other
            # failures may have been billed.
            billed = exc.sent and not isinstance(exc, RateLimited)
            await self._settle(charge, billed=billed, refund_quota=exc.refundable)
            return Refused(Failure.UPSTREAM_ERROR)
        await self._settle(charge, billed=True, refund_quota=False)
        return Found(item)

    async def _settle(self, charge: Charge, *, billed: bool, refund_quota: bool) -> None:
        """After the call: a call that may be billed keeps its budget unit and counts
        as paid (so /stats adds up with the budget); the quota comes back when the
        user is not to pay for the outcome."""
        if billed:
            self._counters.count(Counter.PAID_LOOKUPS, chat_id=charge.chat_id)
        if refund_quota:
            await self._refund(charge, budget=not billed)

    async def _refund(self, charge: Charge, *, budget: bool) -> None:
        try:
            await self._ledger.refund(charge, budget=budget)
        except RedisError:
            log.warning("store unreachable: quota not refunded")

    def _count(self, result: LookupResult) -> None:
        if isinstance(result, Found):
            if result.cached:
                self._counters.count(Counter.CACHE_HITS)
            elif result.coalesced:
                self._counters.count(Counter.COALESCED)
        elif (counter := _FAILURE_COUNTER.get(result.kind)) is not None:
            self._counters.count(counter)


def _from_entry(entry: CacheEntry, *, cached: bool, coalesced: bool = False) -> LookupResult:
    if entry.kind is EntryKind.ITEM and entry.item is not None:
        return Found(entry.item, cached=cached, coalesced=coalesced)
    if entry.kind is EntryKind.NOT_FOUND:
        return Refused(Failure.NOT_FOUND)
    return Refused(Failure(entry.failure or Failure.UPSTREAM_ERROR.value))


def _entry_for(result: LookupResult) -> CacheEntry | None:
    """What the lock holder shares: the item, "not found", an upstream failure; else nothing."""
    if isinstance(result, Found):
        return CacheEntry(EntryKind.ITEM, item=result.item)
    if result.kind is Failure.NOT_FOUND:
        return CacheEntry(EntryKind.NOT_FOUND)
    if result.kind is Failure.UPSTREAM_ERROR:
        return CacheEntry(EntryKind.FAILED, failure=Failure.UPSTREAM_ERROR.value)
    return None
