"""A look-up's way in, in one round trip: the cached answer, else the
fetch lock with the charge, and a free upstream slot with that.

The cache (``bot.item_cache``), the ledger (``bot.ledger``) and the pacer
(``bot.pacing``) each keep their rules in a Lua function; this module runs
them in a row in one script:

- a cached answer ends it, free; so does a lock another process holds;
- with the lock taken, the look-up is charged (all or nothing);
- an accepted charge takes a free upstream slot, when this process has
  nobody queued for one, so a refused user never uses up a slot.

A look-up so waits for one round trip before its call, where it waited for
three. The breaker is asked after the slot is taken: while it is open a
refused call wastes its slot, and no call would have used it.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from bot.item import ItemRef
from bot.item_cache import GET_OR_LOCK_FUNCTION, CacheEntry, ItemCache
from bot.ledger import CHARGE_FUNCTION, Charge, QuotaLedger
from bot.pacing import TAKE_FUNCTION, Pacer

# KEYS: item, lock, then the pacer's tat and last when a slot is asked for.
# ARGV: token, lock ms, the charge's 8 arguments, then the take's 2 ('' for no slot).
# Returns {answer} (the cached answer, or 0 while another process fetches),
# else {1, refused, reset_s, day, slot taken (1/0)}.
_ENTER = (
    GET_OR_LOCK_FUNCTION
    + CHARGE_FUNCTION
    + TAKE_FUNCTION
    + """
local got = get_or_lock(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
if got ~= 1 then return {got} end
local charged = charge(unpack(ARGV, 3, 10))
local took = 0
if charged[1] == 0 and ARGV[11] ~= '' then took = take(KEYS[3], KEYS[4], ARGV[11], ARGV[12]) end
return {1, charged[1], charged[2], charged[3], took}
"""
)


@dataclass(frozen=True, slots=True)
class Answered:
    """The item's answer is cached: nothing charged."""

    entry: CacheEntry


@dataclass(frozen=True, slots=True)
class Locked:
    """This caller holds the fetch lock (``token``) and is charged; ``paced``: a slot came too."""

    token: str
    charge: Charge
    paced: bool


class Admission:
    """Asks for the cached answer, else the lock, the charge and a slot, in one round trip."""

    def __init__(self, store: Redis, cache: ItemCache, ledger: QuotaLedger, pacer: Pacer) -> None:
        self._cache = cache
        self._ledger = ledger
        self._pacer = pacer
        self._enter = store.register_script(_ENTER)

    async def enter(
        self, ref: ItemRef, lang: str, user_id: int, chat_id: int | None, *, exempt_user: bool
    ) -> Answered | Locked | None:
        """The cached answer; else the lock, charged to ``user_id``; None while
        another process fetches. A charge may be refused: the lock is held all the same."""
        while True:
            recent = self._cache.recent(ref, lang)
            if recent is not None:
                return Answered(recent)
            claim = self._cache.lock_claim(ref, lang)
            charge_args = self._ledger.charge_args(user_id, chat_id, exempt_user=exempt_user)
            slot = self._pacer.free_slot_claim()
            slot_keys, slot_args = slot if slot else ([], ["", ""])  # '': no slot asked for
            reply = await self._enter(
                keys=[*claim.keys, *slot_keys], args=[*claim.args, *charge_args, *slot_args]
            )
            got = reply[0]
            if got == 0:
                return None
            if got == 1:
                *charged, took = reply[1:]
                if took:
                    await self._pacer.took(user_id)
                charge = self._ledger.charge_from(charged, user_id, chat_id)
                return Locked(claim.token, charge, bool(took))
            entry = await self._cache.read_answer(ref, claim, got)
            if entry is not None:
                return Answered(entry)
            # The entry was unreadable and is dropped now: ask again.
