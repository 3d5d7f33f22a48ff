"""Today's usage counters for ``/stats``: paid calls, cache hits, refusals, spend.

Counters live in one hash per UTC day in the store (Redis ``TIME`` picks the
day, so replicas agree), and expire two days later. Counting costs a look-up
no round trip: counts gather in the process and go to the store in one write
at most ``FLUSH_SECONDS`` later, before every read, and at shutdown. So
another replica's counts show up to a second late, and a count made just
before midnight may land on the new day. Counting is best-effort: a store
hiccup never fails a look-up over a statistic (the counts wait for the next
write).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter as Tally

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.balance.usage_figures import LOOKUP_PRICE, RISK_CHECK_PRICE, Counter, DailyStats

__all__ = ["LOOKUP_PRICE", "RISK_CHECK_PRICE", "Counter", "DailyCounters", "DailyStats"]

log = logging.getLogger(__name__)

_DAY_TTL = 2 * 86400
FLUSH_SECONDS = 1.0

# ARGV: prefix, ttl, then field/amount pairs.
_COUNT = """
local day = math.floor(tonumber(redis.call('TIME')[1]) / 86400)
local key = ARGV[1] .. ':' .. day
for i = 3, #ARGV, 2 do redis.call('HINCRBY', key, ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', key, ARGV[2])
return 1
"""

_READ = """
local day = math.floor(tonumber(redis.call('TIME')[1]) / 86400)
return redis.call('HGETALL', ARGV[1] .. ':' .. day)
"""


class DailyCounters:
    """Per-day counters in the store (see the module docstring)."""

    def __init__(self, store: Redis, *, prefix: str = "cb:stats") -> None:
        self._prefix = prefix
        self._count = store.register_script(_COUNT)
        self._read = store.register_script(_READ)
        self._pending: Tally[Counter] = Tally()
        self._flusher: asyncio.Task[None] | None = None

    def count(self, counter: Counter, amount: int = 1) -> None:
        """Add to today's ``counter``: written to the store within ``FLUSH_SECONDS``."""
        self._pending[counter] += amount
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_soon())

    async def snapshot(self) -> DailyStats:
        """Today's figures (raises the store's error when it is unreachable)."""
        await self.flush()
        raw = await self._read(args=[self._prefix])
        known = {c.value: c for c in Counter}
        counts: dict[Counter, int] = {}
        for name, value in zip(raw[::2], raw[1::2], strict=True):
            key = name.decode() if isinstance(name, bytes) else str(name)
            if key in known:
                counts[known[key]] = int(value)
        return DailyStats(counts)

    async def flush(self) -> None:
        """Write the counts made so far (also at shutdown); on a store failure they wait."""
        timer, self._flusher = self._flusher, None
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        pending, self._pending = self._pending, Tally()
        if not pending:
            return
        pairs = [part for c, n in pending.items() for part in (c.value, n)]
        try:
            await self._count(args=[self._prefix, _DAY_TTL, *pairs])
        except RedisError:
            log.debug("store unreachable: counts kept for the next write")
            self._pending.update(pending)

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        await self.flush()
