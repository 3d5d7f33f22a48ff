"""The one way to the paid upstream: breaker, fair pacing, 429 retries.

Product look-ups and risk checks both call ``UpstreamGate.call``, so they
share the breaker, the key's rate limit and the users' turns. The gate raises
``BreakerOpen`` (with who should tell admins), ``Busy`` (the wait would be
unreasonable) and ``StoreDown`` (shared state unreachable: paid calls fail
closed); other upstream failures are re-raised as the client raised them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import RedisError

from bot.balance.breaker import Breaker, BreakerReason, Verdict
from bot.balance.pacing import Busy, Pacer
from bot.catbuy.errors import (
    AuthError,
    InsufficientBalance,
    InvalidRequest,
    InvalidUrl,
    ItemNotFound,
    RateLimited,
)

__all__ = ["BreakerOpen", "Busy", "StoreDown", "UpstreamGate"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# A call that waited longer than this for its slot asks the breaker again.
RECHECK_AFTER = 0.05

# Answers that prove the key and the balance are good: a probe that gets one closes the breaker.
_KEY_WORKS = (ItemNotFound, InvalidUrl, InvalidRequest)


class BreakerOpen(Exception):
    """Paid calls are paused (401/402). ``notify_admins``: this caller tells them."""

    def __init__(self, reason: BreakerReason, *, notify_admins: bool = False) -> None:
        super().__init__(f"upstream paused: {reason.value}")
        self.reason = reason
        self.notify_admins = notify_admins


class StoreDown(Exception):
    """The shared store is unreachable, so paid calls are refused (fail closed)."""


class UpstreamGate:
    """Breaker check and the user's paced turn, then the call, retrying 429s."""

    def __init__(self, pacer: Pacer, breaker: Breaker, *, max_retries: int = 2) -> None:
        self.pacer = pacer
        self.breaker = breaker
        self.max_retries = max_retries

    async def call(
        self,
        user_id: int,
        fn: Callable[[], Awaitable[T]],
        *,
        deadline: float | None = None,
        paced: bool = False,
    ) -> T:
        """Run ``fn`` (one upstream request) in ``user_id``'s turn; see the module docstring.

        ``deadline`` (``loop.time()``) bounds the wait for a slot. ``paced``: the
        caller has taken a slot already (``bot.lookup.admission``); the breaker still decides.
        """
        loop = asyncio.get_running_loop()
        probing, paced = await self._admit(user_id, paced)
        attempt = 0
        try:
            while True:
                if not paced:
                    queued = loop.time()
                    try:
                        # A free slot was tried already (``_admit``), or a 429 just held them.
                        await self.pacer.wait_turn(user_id, deadline)
                    except RedisError as exc:
                        raise StoreDown("store unreachable") from exc
                    if not probing and loop.time() - queued > RECHECK_AFTER:
                        # The breaker may have opened while we queued: ask again before paying.
                        probing = await self._admitted()
                paced = False
                try:
                    result = await fn()
                    break
                except RateLimited as exc:
                    attempt += 1
                    if attempt > self.max_retries:
                        raise
                    # Hold every replica back, then queue again for a paced slot.
                    pause = min(exc.retry_after or self.pacer.interval, 5.0)
                    await self._settle(self.pacer.penalize, pause)
                    log.info("upstream 429: retry %d after %.2fs", attempt, pause)
        except (AuthError, InsufficientBalance) as exc:
            reason = BreakerReason.AUTH if isinstance(exc, AuthError) else BreakerReason.BALANCE
            log.warning("upstream refused the key (%s): pausing paid calls", reason.value)
            raise BreakerOpen(reason, notify_admins=await self._trip(reason)) from exc
        except _KEY_WORKS:
            if probing:
                await self._settle(self.breaker.close)
            raise
        except BaseException:
            if probing:
                await self._settle(self.breaker.release_probe)
            raise
        if probing:
            await self._settle(self.breaker.close)
        return result

    async def _admit(self, user_id: int, paced: bool) -> tuple[bool, bool]:
        """Ask the breaker (in memory while it is closed), then try for a free slot.

        (probing, paced); a probe is given back when the slot cannot be asked for.
        """
        probing = await self._admitted()
        if paced:
            return probing, True
        try:
            return probing, await self.pacer.take_if_free(user_id)
        except RedisError as exc:
            if probing:
                await self._settle(self.breaker.release_probe)
            raise StoreDown("store unreachable") from exc

    async def _admitted(self) -> bool:
        """Ask the breaker: True when this call is the probe; BreakerOpen when refused."""
        try:
            state = await self.breaker.check()
        except RedisError as exc:
            raise StoreDown("store unreachable") from exc
        if state.verdict is Verdict.REFUSED:
            raise BreakerOpen(state.reason or BreakerReason.BALANCE)
        return state.verdict is Verdict.PROBE

    async def _trip(self, reason: BreakerReason) -> bool:
        try:
            return await self.breaker.trip(reason)
        except RedisError:
            # The breaker can't be shared now; the caller still gets BreakerOpen.
            log.warning("store unreachable: breaker not recorded")
            return False

    @staticmethod
    async def _settle(action: Callable[..., Awaitable[object]], *args: float) -> None:
        """Best-effort bookkeeping: a store hiccup must not mask the call's result."""
        try:
            await action(*args)
        except RedisError:
            log.warning("store unreachable: breaker/pacing bookkeeping skipped")
