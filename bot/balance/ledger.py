"""The quota ledger: who may spend a paid look-up today, charged atomically.

Each paid look-up counts against the user's daily quota, the group's daily
quota and the bot's daily budget, all in one Lua script so concurrent
look-ups can never overspend, and with Redis ``TIME`` so replicas' clocks do
not matter. Days are UTC days; counters expire a while after their day.

Refunds: a look-up whose call may have been billed keeps its whole charge,
whatever its answer (a 5xx, a timeout after the request left, a broken
answer): the upstream may have done the work, and a user who could have it
given back could buy failed calls past their quota. The charge is given back,
quota and budget, only when the upstream certainly did not bill: the call
never left (busy, breaker, store down) or was refused before any work (429,
401, 402). A charge whose reply Redis never sent (a stall) is given back by
``bot.lookup.admission``, which records what each entry charged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from redis.asyncio import Redis

# Counters outlive their day by this much, so a refund just after midnight
# still finds yesterday's key and /stats around midnight reads it.
_SLACK_SECONDS = 3600

# A Lua function (``bot.lookup.admission`` runs it with the fetch lock and a pacing slot,
# in one script).
# Args: user, chat ('' for none), user quota, chat quota, budget, exempt ('1'/'0'),
# prefix, slack. Returns {refused (0 none, 1 user, 2 chat, 3 budget), reset_s, day}.
CHARGE_FUNCTION = """
local function charge(user, chat, user_quota, chat_quota, budget, exempt, prefix, slack)
  local now = tonumber(redis.call('TIME')[1])
  local day = math.floor(now / 86400)
  local reset = (day + 1) * 86400 - now
  local p = prefix .. ':'
  local ukey = p .. 'u:' .. day .. ':' .. user
  local ckey = p .. 'c:' .. day .. ':' .. chat
  local bkey = p .. 'b:' .. day
  if exempt ~= '1' and tonumber(redis.call('GET', ukey) or '0') >= tonumber(user_quota) then
    return {1, reset, day}
  end
  if chat ~= '' and tonumber(redis.call('GET', ckey) or '0') >= tonumber(chat_quota) then
    return {2, reset, day}
  end
  if tonumber(redis.call('GET', bkey) or '0') >= tonumber(budget) then
    return {3, reset, day}
  end
  local ttl = reset + tonumber(slack)
  redis.call('INCR', ukey)
  redis.call('EXPIRE', ukey, ttl)
  if chat ~= '' then
    redis.call('INCR', ckey)
    redis.call('EXPIRE', ckey, ttl)
  end
  redis.call('INCR', bkey)
  redis.call('EXPIRE', bkey, ttl)
  return {0, reset, day}
end
"""
_CHARGE = CHARGE_FUNCTION + "return charge(unpack(ARGV))"

# Give back one unit of each key named, never below zero.
_REFUND = """
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
return 1
"""

# ARGV: user, prefix, group ('' for none). Returns {user used, group used, budget used, reset_s}.
_REMAINING = """
local now = tonumber(redis.call('TIME')[1])
local day = math.floor(now / 86400)
local p = ARGV[2] .. ':'
local used = tonumber(redis.call('GET', p .. 'u:' .. day .. ':' .. ARGV[1]) or '0')
local group = 0
if ARGV[3] ~= '' then
  group = tonumber(redis.call('GET', p .. 'c:' .. day .. ':' .. ARGV[3]) or '0')
end
local budget = tonumber(redis.call('GET', p .. 'b:' .. day) or '0')
return {used, group, budget, (day + 1) * 86400 - now}
"""

# Once per UTC day: SET NX on a key named by the day, expiring after it.
_NOTICE = """
local now = tonumber(redis.call('TIME')[1])
local day = math.floor(now / 86400)
local ttl = (day + 1) * 86400 - now + tonumber(ARGV[2])
if redis.call('SET', ARGV[1] .. ':notice:budget:' .. day, '1', 'NX', 'EX', ttl) then
  return 1
end
return 0
"""


class Limit(StrEnum):
    """Which limit refused a charge."""

    USER = "user"
    CHAT = "chat"
    BUDGET = "budget"


@dataclass(frozen=True, slots=True)
class Charge:
    """The outcome of ``charge``: accepted unless ``refused`` names a limit.

    ``reset_seconds`` is the time until the UTC day (and every quota) resets.
    """

    refused: Limit | None
    reset_seconds: int
    day: int
    user_id: int
    chat_id: int | None

    @property
    def accepted(self) -> bool:
        return self.refused is None


@dataclass(frozen=True, slots=True)
class QuotaStatus:
    """What ``/quota`` shows: today's use against the limits, and the reset.

    ``chat_used`` is None outside a group.
    """

    user_used: int
    user_quota: int
    exempt: bool
    budget_used: int
    daily_budget: int
    reset_seconds: int
    chat_used: int | None = None
    chat_quota: int = 0

    @property
    def user_left(self) -> int:
        return max(self.user_quota - self.user_used, 0)

    @property
    def chat_left(self) -> int | None:
        return None if self.chat_used is None else max(self.chat_quota - self.chat_used, 0)

    @property
    def budget_left(self) -> int:
        return max(self.daily_budget - self.budget_used, 0)


class QuotaLedger:
    """Daily quotas per user and group and the bot's daily budget, in the store."""

    def __init__(
        self,
        store: Redis,
        *,
        user_quota: int,
        chat_quota: int,
        daily_budget: int,
        prefix: str = "cb:quota",
    ) -> None:
        self.user_quota = user_quota
        self.chat_quota = chat_quota
        self.daily_budget = daily_budget
        self.store = store
        self._prefix = prefix
        self._charge = store.register_script(_CHARGE)
        self._refund = store.register_script(_REFUND)
        self._remaining = store.register_script(_REMAINING)
        self._notice = store.register_script(_NOTICE)

    async def charge(self, user_id: int, chat_id: int | None, *, exempt_user: bool) -> Charge:
        """Charge one paid look-up to every limit, or to none (all or nothing).

        ``chat_id`` is the group, or None for a private chat (no group quota).
        ``exempt_user`` (admins) skips the user-quota check; use is still counted.
        """
        reply = await self._charge(args=self.charge_args(user_id, chat_id, exempt_user=exempt_user))
        return self.charge_from(reply, user_id, chat_id)

    def charge_args(
        self, user_id: int, chat_id: int | None, *, exempt_user: bool
    ) -> list[int | str]:
        """The arguments of ``CHARGE_FUNCTION`` for this charge."""
        return [
            user_id,
            "" if chat_id is None else chat_id,
            self.user_quota,
            self.chat_quota,
            self.daily_budget,
            "1" if exempt_user else "0",
            self._prefix,
            _SLACK_SECONDS,
        ]

    @staticmethod
    def charge_from(reply: list[int], user_id: int, chat_id: int | None) -> Charge:
        """The ``Charge`` that ``CHARGE_FUNCTION`` answered."""
        code, reset, day = reply
        refused = {0: None, 1: Limit.USER, 2: Limit.CHAT, 3: Limit.BUDGET}[int(code)]
        return Charge(refused, int(reset), int(day), user_id, chat_id)

    async def refund(self, charge: Charge, *, budget: bool) -> None:
        """Give an accepted charge back to the day it was taken from.

        ``budget``: also give back the budget unit (only when the upstream
        certainly did not bill the call; see the module docstring).
        """
        if not charge.accepted:
            return
        keys = [f"{self._prefix}:u:{charge.day}:{charge.user_id}"]
        if charge.chat_id is not None:
            keys.append(f"{self._prefix}:c:{charge.day}:{charge.chat_id}")
        if budget:
            keys.append(f"{self._prefix}:b:{charge.day}")
        await self._refund(keys=keys)

    async def remaining(
        self, user_id: int, chat_id: int | None = None, *, exempt_user: bool = False
    ) -> QuotaStatus:
        """Today's use for ``/quota``; ``chat_id``: the group asked in, None in private."""
        group = "" if chat_id is None else chat_id
        used, chat_used, budget_used, reset = await self._remaining(
            args=[user_id, self._prefix, group]
        )
        return QuotaStatus(
            user_used=int(used),
            user_quota=self.user_quota,
            exempt=exempt_user,
            budget_used=int(budget_used),
            daily_budget=self.daily_budget,
            reset_seconds=int(reset),
            chat_used=None if chat_id is None else int(chat_used),
            chat_quota=self.chat_quota,
        )

    async def budget_exhausted_notice_due(self) -> bool:
        """True once per UTC day (across replicas): time to tell admins the budget ran out."""
        return bool(await self._notice(args=[self._prefix, _SLACK_SECONDS]))
