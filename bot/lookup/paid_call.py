"""A charged look-up's call to the upstream, and the result each way it can end.

A charge a limit refused ends here (with the admins' budget notice, once a
day). An accepted one makes the call in the user's paced turn, through the
gate (breaker, fairness, 429 retries), bounded by the look-up's deadline;
whether the call may have been billed decides what it costs in the end
(``bot.lookup.settlement``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from bot.balance.daily_usage import Counter, DailyCounters
from bot.balance.ledger import Limit, QuotaLedger
from bot.balance.upstream_gate import BreakerOpen, Busy, StoreDown, UpstreamGate
from bot.catbuy.errors import (
    CatBuyError,
    InvalidUrl,
    ItemNotFound,
    UpstreamTimeout,
)
from bot.items.item import Item, ItemRef
from bot.lookup.admission import Locked
from bot.lookup.results import AdminNotice, Failure, Found, LookupResult, NoticeKind, Refused
from bot.lookup.settlement import Settlement

log = logging.getLogger(__name__)

_LIMIT_FAILURE = {Limit.USER: Failure.USER_QUOTA, Limit.CHAT: Failure.CHAT_QUOTA}


class ItemSource(Protocol):
    """The upstream's product call: ``CatBuyClient.fetch_item``."""

    async def fetch_item(
        self, url: str, *, lang: str = "en", tid: str | None = None, ref: ItemRef | None = None
    ) -> Item: ...


@dataclass(frozen=True, slots=True)
class Ask:
    """One look-up as asked: what, for whom, where, and until when."""

    ref: ItemRef
    user_id: int
    chat_id: int | None
    lang: str
    is_admin: bool
    deadline: float


class PaidCall:
    """Makes a charged look-up's upstream call and settles its charge."""

    def __init__(
        self,
        client: ItemSource,
        gate: UpstreamGate,
        ledger: QuotaLedger,
        settlement: Settlement,
        counters: DailyCounters,
        *,
        timeout: float,
    ) -> None:
        self._client = client
        self._gate = gate
        self._ledger = ledger
        self._settlement = settlement
        self._counters = counters
        # The call itself needs time too: stop queueing for a slot this early.
        self._call_reserve = min(2.0, timeout / 4)

    async def run(self, ask: Ask, entered: Locked) -> LookupResult:
        """The paced call once charged; refunds the way the rules say.

        ``entered.paced``: a slot came with the charge. An open breaker refuses in
        the gate, and the charge is given back in full.
        """
        charge = entered.charge
        if charge.refused is Limit.BUDGET:
            due = await self._ledger.budget_exhausted_notice_due()
            notice = AdminNotice(NoticeKind.BUDGET_EXHAUSTED) if due else None
            return Refused(Failure.BUDGET, charge.reset_seconds, notify_admins=notice)
        if charge.refused is not None:
            return Refused(_LIMIT_FAILURE[charge.refused], charge.reset_seconds)
        return await self._call(ask, entered)

    async def _call(self, ask: Ask, entered: Locked) -> LookupResult:
        ref, lang = ask.ref, ask.lang
        started = False

        async def fetch() -> Item:
            nonlocal started
            started = True
            return await self._client.fetch_item(ref.canonical_url, lang=lang, ref=ref)

        slot_deadline = ask.deadline - self._call_reserve
        try:
            async with asyncio.timeout_at(ask.deadline):
                item = await self._gate.call(
                    ask.user_id, fetch, deadline=slot_deadline, paced=entered.paced
                )
        except (TimeoutError, UpstreamTimeout) as exc:
            never_left = not started or (isinstance(exc, UpstreamTimeout) and not exc.sent)
            await self._settlement.settle(entered, billed=not never_left)
            return Refused(Failure.TIMEOUT, held=not never_left)
        except asyncio.CancelledError:
            # Cut off from outside (a shutdown, the last guard in coalescing): no
            # card, so no charge. Shielded: a second cancel must not stop the refund.
            await asyncio.shield(self._settlement.give_back(entered, budget=not started))
            raise
        except Busy:
            await self._settlement.settle(entered, billed=False)
            return Refused(Failure.BUSY)
        except BreakerOpen as exc:  # a 401 or 402: refused unbilled
            await self._settlement.settle(entered, billed=False)
            notice = AdminNotice(NoticeKind.BREAKER_OPEN, exc.reason) if exc.notify_admins else None
            return Refused(Failure.BREAKER_OPEN, reason=exc.reason, notify_admins=notice)
        except StoreDown:
            await self._settlement.settle(entered, billed=False)
            return Refused(Failure.STORE_DOWN)
        except (ItemNotFound, InvalidUrl):
            # The upstream did the work: charged, and cached as "not found". 400
            # invalid_url for the URL the bot built is the same answer on every try.
            await self._settlement.settle(entered, billed=True)
            return Refused(Failure.NOT_FOUND)
        except CatBuyError as exc:
            log.warning("upstream failed for %s: %s", ref.key, type(exc).__name__)
            self._counters.count(Counter.UPSTREAM_ERRORS)
            billed = exc.may_be_billed
            await self._settlement.settle(entered, billed=billed)
            return Refused(Failure.UPSTREAM_ERROR, held=billed)
        await self._settlement.settle(entered, billed=True)
        return Found(item)
