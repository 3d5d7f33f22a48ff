"""Admin risk checks: budget, repeat cache, upstream call and audit trail.

A check costs real money ($0.03) and screens personal data, so:
- the daily risk budget is reserved atomically (one Lua script, Redis
  ``TIME`` for the UTC day) before paying. A call that may have been billed
  keeps its unit and is counted, with its price, among today's paid checks,
  whatever its answer (a broken one, a 5xx, a timeout after it left); only a
  call that never left, or that the upstream refused unbilled (401, 402,
  429), gives it back. So the budget caps what failing checks cost too;
- the same value checked again within ``repeat_seconds`` is answered from a
  cache, free. The cache key is a salted hash of the value, never the value;
  what checks keep in the store lives in ``bot.risk.storage``;
- identical checks at the same moment pay once: in this process they share
  one call, and across replicas a pending mark makes the others wait for the
  first one's answer (with the cache off, only the in-process sharing holds);
- logs and the audit stream hold only the masked value.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.balance.breaker import BreakerReason
from bot.balance.daily_usage import Counter, DailyCounters
from bot.balance.in_flight import InFlight
from bot.balance.upstream_gate import BreakerOpen, Busy, StoreDown
from bot.catbuy.errors import (
    AuthError,
    CatBuyError,
    InsufficientBalance,
    RateLimited,
    UpstreamTimeout,
)
from bot.catbuy.risk import RiskVerdict
from bot.risk.audit import AuditRecord, RiskAudit
from bot.risk.storage import CHECK_PRICE, Reservation, RiskStats, RiskStore
from bot.risk.values import RiskType, mask

# Where callers of the service find them too.
__all__ = ["CHECK_PRICE", "OutcomeKind", "RiskOutcome", "RiskService", "RiskStats"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# How long another replica's check of the same value is waited for, by default,
# and how often its answer is looked for meanwhile.
PENDING_SECONDS = 30.0
PENDING_POLL = 0.1


class RiskChecker(Protocol):
    """The upstream call: ``CatBuyClient.check_risk``."""

    async def check_risk(self, kind: str, value: str) -> RiskVerdict: ...


class Gate(Protocol):
    """Breaker, fair pacing and retries shared with product look-ups: ``UpstreamGate``."""

    async def call(self, user_id: int, fn: Callable[[], Awaitable[T]]) -> T: ...


class OutcomeKind(StrEnum):
    """How a risk check ended."""

    VERDICT = "verdict"
    BUDGET_EXHAUSTED = "budget_exhausted"
    BREAKER_OPEN = "breaker_open"
    BUSY = "busy"
    UPSTREAM_ERROR = "upstream_error"
    TIMEOUT = "timeout"
    STORE_DOWN = "store_down"


@dataclass(frozen=True, slots=True)
class RiskOutcome:
    """The answer to one check; ``verdict`` is set only for ``VERDICT``."""

    kind: OutcomeKind
    masked: str
    verdict: RiskVerdict | None = None
    cached: bool = False
    cost: Decimal | None = None
    breaker_reason: BreakerReason | None = None
    notify_admins: bool = False


class RiskService:
    """Runs admin risk checks against the upstream within the daily risk budget."""

    def __init__(
        self,
        client: RiskChecker,
        gate: Gate,
        store: Redis,
        *,
        daily_budget: int,
        repeat_seconds: int = 600,
        timeout_seconds: float | None = None,
        audit_maxlen: int = 1000,
        counters: DailyCounters | None = None,
        prefix: str = "risk",
    ) -> None:
        self._client = client
        self._gate = gate
        self._repeat = repeat_seconds
        # A last guard against a hung call: the client's own timeout should fire first.
        self._timeout = timeout_seconds
        # The bot-wide /stats counters, when wired: paid risk checks count there too.
        self._counters = counters
        self._storage = RiskStore(store, daily_budget=daily_budget, prefix=prefix)
        self._inflight: InFlight[RiskOutcome] = InFlight()
        self.audit = RiskAudit(store, f"{prefix}:audit", audit_maxlen)

    async def check(self, admin_id: int, kind: RiskType, value: str) -> RiskOutcome:
        """Check a normalised ``value`` (see ``risk_values.normalize``) for ``admin_id``."""
        masked = mask(kind, value)
        try:
            outcome = await self._check(admin_id, kind, value, masked)
        except (RedisError, StoreDown):
            outcome = RiskOutcome(OutcomeKind.STORE_DOWN, masked)
        log.info(
            "risk check admin=%s type=%s value=%s outcome=%s cached=%s",
            admin_id,
            kind.value,
            masked,
            outcome.kind.value,
            outcome.cached,
        )
        await self.audit.append(
            admin_id, kind, outcome.masked, _result(outcome), _score(outcome), outcome.cached
        )
        return outcome

    async def _check(self, admin_id: int, kind: RiskType, value: str, masked: str) -> RiskOutcome:
        cache_key = await self._storage.cache_key(kind, value)
        verdict = await self._storage.cached(cache_key) if self._repeat > 0 else None
        if verdict is not None:
            return await self._cached(verdict, masked)
        outcome, joined = await self._inflight.run(
            cache_key, lambda: self._once_across_replicas(admin_id, kind, value, masked, cache_key)
        )
        if not joined:
            return outcome
        if outcome.kind is OutcomeKind.VERDICT and outcome.verdict is not None:
            return await self._cached(outcome.verdict, masked)
        return replace(outcome, notify_admins=False)  # the first check tells the admins

    async def _cached(self, verdict: RiskVerdict, masked: str) -> RiskOutcome:
        await self._storage.count(await self._storage.day(), cached=True)
        return RiskOutcome(OutcomeKind.VERDICT, masked, verdict, cached=True)

    async def _once_across_replicas(
        self, admin_id: int, kind: RiskType, value: str, masked: str, cache_key: str
    ) -> RiskOutcome:
        """Pay for the check unless another replica is checking the value: then its answer."""
        if self._repeat <= 0:  # no cache to hand an answer over
            return await self._pay(admin_id, kind, value, masked, cache_key)
        pending = cache_key.replace(":cache:", ":pending:", 1)
        token = secrets.token_hex(8)
        wait = self._timeout or PENDING_SECONDS
        deadline = asyncio.get_running_loop().time() + wait
        while not await self._storage.mark_pending(pending, token, round(wait * 1000) + 5000):
            verdict = await self._answer_from_other(cache_key, pending, deadline)
            if verdict is not None:
                return await self._cached(verdict, masked)
            if asyncio.get_running_loop().time() >= deadline:
                return RiskOutcome(OutcomeKind.TIMEOUT, masked)
            # The other check ended without an answer: this one tries.
        try:
            # Answered between this check's first look and its mark? Then free.
            verdict = await self._storage.cached(cache_key)
            if verdict is not None:
                return await self._cached(verdict, masked)
            return await self._pay(admin_id, kind, value, masked, cache_key)
        finally:
            try:
                await self._storage.release_pending(pending, token)
            except RedisError:
                log.warning("store unreachable: pending risk check left to expire")

    async def _answer_from_other(
        self, cache_key: str, pending: str, deadline: float
    ) -> RiskVerdict | None:
        """Wait while another replica checks: its verdict, or None once it stops or time is up."""
        loop = asyncio.get_running_loop()
        while loop.time() < deadline:
            await asyncio.sleep(PENDING_POLL)
            verdict = await self._storage.cached(cache_key)
            if verdict is not None:
                return verdict
            if not await self._storage.is_pending(pending):
                # Gone just now? The answer is written before the mark is dropped.
                return await self._storage.cached(cache_key)
        return None

    async def _pay(
        self, admin_id: int, kind: RiskType, value: str, masked: str, cache_key: str
    ) -> RiskOutcome:
        reservation = await self._storage.reserve()
        if reservation is None:
            return RiskOutcome(OutcomeKind.BUDGET_EXHAUSTED, masked)
        started = False

        def ask() -> Awaitable[RiskVerdict]:
            nonlocal started
            started = True
            return self._client.check_risk(kind.value, value)

        try:
            verdict = await self._call(admin_id, ask)
        except BaseException as exc:
            outcome = _failure(exc, masked)
            if started and _may_be_billed(exc):
                await asyncio.shield(self._paid(reservation.day, CHECK_PRICE))
            else:
                await asyncio.shield(self._give_back(reservation))
            if outcome is None:
                raise
            return outcome
        cost = verdict.cost if verdict.cost is not None else CHECK_PRICE
        await self._paid(reservation.day, cost, cache_key, verdict)
        return RiskOutcome(OutcomeKind.VERDICT, masked, verdict, cost=cost)

    async def _give_back(self, reservation: Reservation) -> None:
        try:
            await self._storage.give_back(reservation)
        except RedisError:
            # Fail closed: the reservation stays spent rather than hide the real failure.
            log.warning("store unreachable: risk budget not given back")

    async def _paid(
        self,
        day: int,
        cost: Decimal,
        cache_key: str | None = None,
        verdict: RiskVerdict | None = None,
    ) -> None:
        """Bookkeeping after a call that may have been billed (with its ``verdict``, when
        it gave one): best-effort, the admin gets the answer anyway."""
        try:
            await self._storage.count(day, cost=cost)
            if self._repeat > 0 and cache_key is not None and verdict is not None:
                await self._storage.remember(cache_key, verdict, self._repeat)
        except RedisError:
            log.warning("store unreachable: risk check not counted or cached")
        if self._counters is not None:
            self._counters.count(Counter.RISK_CHECKS)

    async def _call(self, admin_id: int, ask: Callable[[], Awaitable[RiskVerdict]]) -> RiskVerdict:
        call = self._gate.call(admin_id, ask)
        if self._timeout is None:
            return await call
        async with asyncio.timeout(self._timeout):
            return await call

    async def audit_log(self, limit: int = 20) -> list[AuditRecord]:
        """The latest audit records, newest first."""
        return await self.audit.latest(limit)

    async def today(self) -> RiskStats:
        """Today's risk checks, cache hits, spend and budget."""
        return await self._storage.today()


def _failure(exc: BaseException, masked: str) -> RiskOutcome | None:
    """The outcome for a failed upstream call, or None to let ``exc`` propagate."""
    if isinstance(exc, BreakerOpen):
        return RiskOutcome(
            OutcomeKind.BREAKER_OPEN,
            masked,
            breaker_reason=exc.reason,
            notify_admins=exc.notify_admins,
        )
    if isinstance(exc, AuthError | InsufficientBalance):
        reason = BreakerReason.AUTH if isinstance(exc, AuthError) else BreakerReason.BALANCE
        return RiskOutcome(OutcomeKind.BREAKER_OPEN, masked, breaker_reason=reason)
    if isinstance(exc, Busy | RateLimited):
        # 429 still after the gate's retries: as busy as a long queue.
        return RiskOutcome(OutcomeKind.BUSY, masked)
    if isinstance(exc, UpstreamTimeout | TimeoutError):
        return RiskOutcome(OutcomeKind.TIMEOUT, masked)
    if isinstance(exc, StoreDown | RedisError):
        return RiskOutcome(OutcomeKind.STORE_DOWN, masked)
    if isinstance(exc, CatBuyError):
        # Only the class name: an upstream message may quote the value.
        log.warning("risk check failed upstream: %s", type(exc).__name__)
        return RiskOutcome(OutcomeKind.UPSTREAM_ERROR, masked)
    return None


def _may_be_billed(exc: BaseException) -> bool:
    """Whether a check that failed with ``exc`` after its call started may have been billed."""
    if isinstance(exc, CatBuyError):
        return exc.may_be_billed
    # The gate refused (a 401 or 402 behind BreakerOpen, a queue too long) or the
    # store failed: unbilled. A timeout or a cancellation cut the call off after it left.
    return not isinstance(exc, BreakerOpen | Busy | StoreDown | RedisError)


def _result(outcome: RiskOutcome) -> str:
    """``blacklisted``, ``clean``, or the failed outcome's kind."""
    if outcome.verdict is None:
        return outcome.kind.value
    return "blacklisted" if outcome.verdict.blacklisted else "clean"


def _score(outcome: RiskOutcome) -> int | None:
    return outcome.verdict.risk_score if outcome.verdict is not None else None
