"""A paid call's way in, in one round trip: the charge, and a free upstream slot with it.

The ledger (``bot.ledger``) and the pacer (``bot.pacing``) each keep their
own scripts; this one runs their two Lua functions in a row and takes the
slot only when the charge is accepted, so a refused user never uses up a
slot. A paid look-up waits for one round trip before its call instead of two.
When this process must queue for a slot anyway, the charge goes alone and
the call queues for its turn as before. The breaker is asked after the slot
is taken: while it is open a refused call wastes its slot, and no call
would have used it.
"""

from __future__ import annotations

from redis.asyncio import Redis

from bot.ledger import CHARGE_FUNCTION, Charge, QuotaLedger
from bot.pacing import TAKE_FUNCTION, Pacer

# KEYS: the pacer's tat and last. ARGV: the charge's 8 arguments, then the take's 2.
# Returns the charge's {refused, reset_s, day}, then 1 when a slot was taken.
_CHARGE_AND_TAKE = (
    CHARGE_FUNCTION
    + TAKE_FUNCTION
    + """
local charged = charge(unpack(ARGV, 1, 8))
local took = 0
if charged[1] == 0 then took = take(KEYS[1], KEYS[2], ARGV[9], ARGV[10]) end
return {charged[1], charged[2], charged[3], took}
"""
)


class Admission:
    """Charges a paid look-up and, in the same round trip, takes a free upstream slot."""

    def __init__(self, store: Redis, ledger: QuotaLedger, pacer: Pacer) -> None:
        self._ledger = ledger
        self._pacer = pacer
        self._charge_and_take = store.register_script(_CHARGE_AND_TAKE)

    async def charge(
        self, user_id: int, chat_id: int | None, *, exempt_user: bool
    ) -> tuple[Charge, bool]:
        """``QuotaLedger.charge``, and whether a slot was taken for the call with it."""
        claim = self._pacer.free_slot_claim()
        if claim is None:
            return await self._ledger.charge(user_id, chat_id, exempt_user=exempt_user), False
        keys, slot_args = claim
        args = [*self._ledger.charge_args(user_id, chat_id, exempt_user=exempt_user), *slot_args]
        *reply, took = await self._charge_and_take(keys=keys, args=args)
        if took:
            await self._pacer.took(user_id)
        return self._ledger.charge_from(reply, user_id, chat_id), bool(took)
