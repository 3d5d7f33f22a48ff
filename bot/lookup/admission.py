"""A look-up's way in, in one round trip: the cached answer, else the
fetch lock with the charge, and a free upstream slot with that.

The cache (``bot.lookup.item_cache``), the ledger (``bot.balance.ledger``) and the pacer
(``bot.balance.pacing``) each keep their rules in a Lua function; this module runs
them in a row in one script:

- a cached answer ends it, free; so does a lock another process holds;
- with the lock taken, the look-up is charged (all or nothing);
- an accepted charge takes a free upstream slot, when this process has
  nobody queued for one, so a refused user never uses up a slot.

A look-up so waits for one round trip before its call, where it waited for
three. The breaker is asked after the slot is taken: while it is open a
refused call wastes its slot, and no call would have used it.

Each entry records its answer and what it charged under its own token, for
a while, so a reply lost on the way is safe, as the webhook's
update claims are:

- **sent twice**: redis-py sends a command again after a dropped
  connection, and the entry may have run the first time. Finding its own
  record, it answers what it answered then: the lock is its own, and it is
  charged once;
- **given back**: a look-up that ends unbilled gives its charge back through
  the record too, once however often the command is sent;
- **given up**: a script whose reply does not come (a Redis stall past the
  timeout) may still run once Redis catches up, and charge for a look-up
  that never happens. Such an entry is given up in the background: its token
  is marked given up (a late run then does nothing), its charge is given back
  and its lock released.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.balance.ledger import CHARGE_FUNCTION, Charge, QuotaLedger
from bot.balance.pacing import TAKE_FUNCTION, Pacer
from bot.balance.upstream_gate import StoreDown
from bot.items.item import ItemRef
from bot.lookup.item_cache import GET_OR_LOCK_FUNCTION, CacheEntry, ItemCache, LockClaim
from bot.ops.background import Background, until_done

log = logging.getLogger(__name__)

# How long an entry's charge is kept on record, and its token's giving-up.
RECORD_SECONDS = 300
# An entry whose reply was lost is given up for this long, in the background.
GIVE_UP_SECONDS = 30.0

# KEYS: item, lock, given-up mark, record, then the pacer's tat and last when a
# slot is asked for.
# ARGV: token, lock ms, the charge's 8 arguments, then the take's 2 ('' for no
# slot), then the record's seconds.
# Returns {-1} when the entry was given up already; {answer} (the cached answer,
# or 0 while another process fetches); else {1, refused, reset_s, day, slot taken (1/0)}.
# The record: that reply's last four numbers, then '|' and the counters charged
# (what a give-up gives back).
_ENTER = (
    GET_OR_LOCK_FUNCTION
    + CHARGE_FUNCTION
    + TAKE_FUNCTION
    + """
if redis.call('EXISTS', KEYS[3]) == 1 then return {-1} end
local ran = redis.call('GET', KEYS[4])
if ran then  -- this very entry, sent again: its reply was lost on the way
  local reply = {1}
  for n in string.gmatch(string.match(ran, '^[^|]*'), '%S+') do reply[#reply + 1] = tonumber(n) end
  return reply
end
local got = get_or_lock(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
if got ~= 1 then return {got} end
local charged = charge(unpack(ARGV, 3, 10))
local took = 0
local keys = ''
if charged[1] == 0 then
  -- The counters charged, as the charge names them.
  local p = ARGV[9] .. ':'
  keys = p .. 'u:' .. charged[3] .. ':' .. ARGV[3] .. ' ' .. p .. 'b:' .. charged[3]
  if ARGV[4] ~= '' then keys = keys .. ' ' .. p .. 'c:' .. charged[3] .. ':' .. ARGV[4] end
  if ARGV[11] ~= '' then took = take(KEYS[5], KEYS[6], ARGV[11], ARGV[12]) end
end
local reply = {1, charged[1], charged[2], charged[3], took}
redis.call('SET', KEYS[4], table.concat(reply, ' ', 2) .. '|' .. keys, 'EX', ARGV[13])
return reply
"""
)

# KEYS: given-up mark, record, lock. ARGV: token, seconds to keep the mark.
_GIVE_UP = """
redis.call('SET', KEYS[1], '1', 'EX', ARGV[2])
local ran = redis.call('GET', KEYS[2])
if ran then
  local charged = string.match(ran, '|(.*)$') or ran
  for key in string.gmatch(charged, '%S+') do
    if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
  end
  redis.call('DEL', KEYS[2])
end
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
return 1
"""

# KEYS: record. ARGV: '1' to give the budget back too, the record's seconds.
# Gives back what the entry charged, once however often it is sent: the record
# then names no counters. Returns 0 when there is no record (it expired).
_GIVE_BACK = """
local ran = redis.call('GET', KEYS[1])
if not ran then return 0 end
local reply, charged = string.match(ran, '^([^|]*)|(.*)$')
if not reply then return 0 end
local n = 0
for key in string.gmatch(charged, '%S+') do
  n = n + 1  -- the second counter is the budget
  if (n ~= 2 or ARGV[1] == '1') and tonumber(redis.call('GET', key) or '0') > 0 then
    redis.call('DECR', key)
  end
end
redis.call('SET', KEYS[1], reply .. '|', 'EX', ARGV[2])
return 1
"""


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
        self._give_up = store.register_script(_GIVE_UP)
        self._give_back = store.register_script(_GIVE_BACK)
        self._giving_up = Background()

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
            marks = _marks(claim.token)
            try:
                reply = await self._enter(
                    keys=[*claim.keys, *marks, *slot_keys],
                    args=[*claim.args, *charge_args, *slot_args, RECORD_SECONDS],
                )
            except (RedisError, OSError, TimeoutError):  # it may run yet, once Redis is back
                self._giving_up.spawn(self._given_up(claim))
                raise
            got = reply[0]
            if got == -1:  # this very entry was given up: no reply was lost, yet here one is
                raise StoreDown("entry given up")
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

    async def give_back(self, entered: Locked, *, budget: bool) -> None:
        """Give back what ``entered`` was charged: its quotas, and the budget when
        ``budget``. Once, even when a dropped reply makes redis-py send it twice."""
        record = _marks(entered.token)[1]
        if not await self._give_back(keys=[record], args=["1" if budget else "0", RECORD_SECONDS]):
            # No record: a look-up that outlived it. The ledger gives the charge back.
            await self._ledger.refund(entered.charge, budget=budget)

    async def aclose(self) -> None:
        """Stop giving entries up (at shutdown): a late run keeps its charge."""
        await self._giving_up.cancel()

    async def _given_up(self, claim: LockClaim) -> None:
        keys = [*_marks(claim.token), claim.lock_key]
        done = await until_done(
            lambda: self._give_up(keys=keys, args=[claim.token, RECORD_SECONDS]),
            within=GIVE_UP_SECONDS,
            retry_on=(RedisError, OSError, TimeoutError),
        )
        if not done:
            log.warning("an entry whose reply was lost could not be given up: it may stay charged")


def _marks(token: str) -> list[str]:
    """The entry's given-up mark and its record (its reply and charge)."""
    return [f"cb:adm:gone:{token}", f"cb:adm:charged:{token}"]
