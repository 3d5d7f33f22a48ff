"""What a charged look-up costs in the end.

A call that may have been billed keeps the whole charge, quota and budget,
and counts as paid, whatever its answer (a broken one, a 5xx, a timeout
after the request left): otherwise a user could buy failed calls past their
quota. Only a call that never left, or that the upstream refused without
billing (401, 402, 429), gives the charge back. A charge taken with the
fetch lock is given back through its admission record, once however often
the command is sent (``bot.lookup.admission``).
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from bot.balance.daily_usage import Counter, DailyCounters
from bot.balance.ledger import QuotaLedger
from bot.lookup.admission import Admission, Locked

log = logging.getLogger(__name__)


class Settlement:
    """Keeps or gives back a look-up's charge, and counts the paid calls for /stats."""

    def __init__(self, ledger: QuotaLedger, admission: Admission, counters: DailyCounters) -> None:
        self._ledger = ledger
        self._admission = admission
        self._counters = counters

    async def settle(self, entered: Locked, *, billed: bool) -> None:
        """After the call: one that may have been billed keeps the whole charge and
        counts as paid (so /stats adds up with the budget), whatever its answer; one
        that certainly was not gives the whole charge back."""
        if billed:
            self._counters.count(Counter.PAID_LOOKUPS, chat_id=entered.charge.chat_id)
        else:
            await self.give_back(entered, budget=True)

    async def give_back(self, entered: Locked, *, budget: bool) -> None:
        """Give ``entered``'s charge back: the quotas, and the budget unit when ``budget``.

        Best effort: with the store unreachable the charge stays spent (fail closed).
        """
        try:
            if entered.token:
                await self._admission.give_back(entered, budget=budget)
            else:  # charged by the ledger alone (sharing off)
                await self._ledger.refund(entered.charge, budget=budget)
        except RedisError:
            log.warning("store unreachable: quota not refunded")
