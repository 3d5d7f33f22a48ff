"""What risk checks keep in the store: the daily budget, today's figures, the
repeat cache and the marks of checks in flight.

- The budget is reserved atomically (one Lua script, Redis ``TIME`` for the
  UTC day) before paying, and given back to the day it was taken from. Each
  reservation is recorded under a token of its own, so one that redis-py
  sends again after a dropped reply is counted, and given back, once.
- Today's figures (paid checks, their spend, cache hits) live in one hash
  per UTC day, kept two days.
- The repeat cache keys by a salted hash of the value, never the value: the
  hash of a guessed e-mail cannot be looked up, and the salt lives in the
  store so that every replica shares the cache.
- A pending mark (SET NX, with a token) names the replica checking a value.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from decimal import Decimal

from pydantic import ValidationError
from redis.asyncio import Redis

from bot.catbuy.risk import RiskVerdict
from bot.risk.values import RiskType

# The documented pay-as-you-go price, used when the upstream omits ``cost``.
CHECK_PRICE = Decimal("0.03")
_MICROS = Decimal(1_000_000)
# Day counters outlive their day a little, so /stats around midnight still reads them.
_DAY_TTL = 2 * 86400

# KEYS: the budget's prefix, the reservation's record. ARGV: budget, counter ttl,
# record seconds. Reserves one check of today's budget: {used_after, day}, or
# {-1, day} when it is used up. A reservation sent again (its reply was lost on
# the way, and redis-py sent the command again) answers what it answered then.
_RESERVE = """
local ran = redis.call('GET', KEYS[2])
if ran then
  local used, day = string.match(ran, '^(%S+) (%S+)')
  return {tonumber(used), tonumber(day)}
end
local day = math.floor(tonumber(redis.call('TIME')[1]) / 86400)
local key = KEYS[1] .. ':' .. day
local used = tonumber(redis.call('GET', key) or '0')
if used >= tonumber(ARGV[1]) then return {-1, day} end
redis.call('INCR', key)
redis.call('EXPIRE', key, ARGV[2])
redis.call('SET', KEYS[2], (used + 1) .. ' ' .. day, 'EX', ARGV[3])
return {used + 1, day}
"""

# KEYS: pending. ARGV: token. Drops the pending mark only while it is still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS: the reservation's record, the budget's prefix. ARGV: record seconds.
# Gives a reservation back to the day it was taken from, never below zero, and
# once: the record then says so. No record (it expired): nothing is given back.
_REFUND = """
local ran = redis.call('GET', KEYS[1])
if not ran then return 0 end
local used, day, back = string.match(ran, '^(%S+) (%S+) ?(%S*)$')
if back == 'back' then return 0 end
local key = KEYS[2] .. ':' .. day
if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
redis.call('SET', KEYS[1], used .. ' ' .. day .. ' back', 'EX', ARGV[1])
return 1
"""

# A reservation's record outlives any check (the longest timeout is 300 s).
RECORD_SECONDS = 900


@dataclass(frozen=True, slots=True)
class Reservation:
    """One check's unit of today's budget: ``token`` names its record, ``day`` its day."""

    token: str
    day: int


@dataclass(frozen=True, slots=True)
class RiskStats:
    """Today's (UTC) risk checks for ``/stats``."""

    checks: int
    cached: int
    spend: Decimal
    budget_used: int
    budget: int

    @property
    def budget_left(self) -> int:
        return max(self.budget - self.budget_used, 0)


class RiskStore:
    """The risk checks' budget, figures, repeat cache and pending marks in the store."""

    def __init__(self, store: Redis, *, daily_budget: int, prefix: str = "risk") -> None:
        self._store = store
        self._budget = daily_budget
        self._prefix = prefix
        self._reserve = store.register_script(_RESERVE)
        self._refund = store.register_script(_REFUND)
        self._release = store.register_script(_RELEASE)
        self._salt: bytes | None = None

    async def reserve(self) -> Reservation | None:
        """Reserve one check of today's budget, or None when it is used up."""
        token = secrets.token_hex(8)
        used, day = await self._reserve(
            keys=[f"{self._prefix}:budget", self._record(token)],
            args=[self._budget, _DAY_TTL, RECORD_SECONDS],
        )
        return None if int(used) < 0 else Reservation(token, int(day))

    async def give_back(self, reservation: Reservation) -> None:
        """Give ``reservation`` back to its day, once however often it is sent."""
        await self._refund(
            keys=[self._record(reservation.token), f"{self._prefix}:budget"],
            args=[RECORD_SECONDS],
        )

    def _record(self, token: str) -> str:
        return f"{self._prefix}:reserved:{token}"

    async def count(self, day: int, *, cached: bool = False, cost: Decimal | None = None) -> None:
        """Add a cache hit, or a paid check and its ``cost``, to ``day``'s figures."""
        key = f"{self._prefix}:stats:{day}"
        async with self._store.pipeline(transaction=True) as pipe:
            if cached:
                pipe.hincrby(key, "cached", 1)
            else:
                pipe.hincrby(key, "checks", 1)
                spent = CHECK_PRICE if cost is None else cost  # a free check costs 0
                pipe.hincrby(key, "spend_micros", int(spent * _MICROS))
            pipe.expire(key, _DAY_TTL)
            await pipe.execute()

    async def day(self) -> int:
        """Today's UTC day number, by the store's clock."""
        seconds, _ = await self._store.time()
        return int(seconds) // 86400

    async def today(self) -> RiskStats:
        """Today's risk checks, cache hits, spend and budget."""
        day = await self.day()
        stats = await self._store.hgetall(f"{self._prefix}:stats:{day}")
        used = await self._store.get(f"{self._prefix}:budget:{day}")
        return RiskStats(
            checks=int(stats.get(b"checks", 0)),
            cached=int(stats.get(b"cached", 0)),
            spend=Decimal(int(stats.get(b"spend_micros", 0))) / _MICROS,
            budget_used=int(used or 0),
            budget=self._budget,
        )

    async def cache_key(self, kind: RiskType, value: str) -> str:
        """The repeat cache's key for ``value``: a salted hash."""
        if self._salt is None:
            salt_key = f"{self._prefix}:salt"
            await self._store.set(salt_key, secrets.token_hex(16), nx=True)
            self._salt = _bytes(await self._store.get(salt_key)) or secrets.token_bytes(16)
        digest = hashlib.blake2b(f"{kind.value}\n{value}".encode(), key=self._salt[:64])
        return f"{self._prefix}:cache:{digest.hexdigest()[:40]}"

    async def cached(self, cache_key: str) -> RiskVerdict | None:
        """The verdict cached under ``cache_key``, if any (and readable)."""
        return _cached_verdict(await self._store.get(cache_key))

    async def remember(self, cache_key: str, verdict: RiskVerdict, seconds: int) -> None:
        """Cache ``verdict`` for ``seconds``."""
        await self._store.set(cache_key, verdict.model_dump_json(), ex=seconds)

    async def mark_pending(self, pending: str, token: str, ms: int) -> bool:
        """Mark a check of the value as this one's (``token``) for ``ms``; False when
        another check holds the mark."""
        return bool(await self._store.set(pending, token, nx=True, px=ms))

    async def is_pending(self, pending: str) -> bool:
        return bool(await self._store.exists(pending))

    async def release_pending(self, pending: str, token: str) -> None:
        """Drop the pending mark while it is still ``token``'s."""
        await self._release(keys=[pending], args=[token])


def _cached_verdict(raw: bytes | str | None) -> RiskVerdict | None:
    if raw is None:
        return None
    try:
        return RiskVerdict.model_validate_json(raw)
    except ValidationError:
        return None  # written by another version: ask again


def _bytes(value: bytes | str | None) -> bytes:
    return value.encode() if isinstance(value, str) else value or b""
