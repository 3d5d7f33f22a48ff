"""The daily usage counters behind ``/stats``: paid calls, cache hits, refusals, spend.

Each UTC day (Redis ``TIME`` picks the day, so replicas agree) has a hash of
counts and a sorted set of paid look-ups per group, both kept
``RETAIN_DAYS`` after the day ends; group titles live in one hash beside
them. Counting costs a look-up no round trip: counts gather in the process
and go to the store in one script call (``HINCRBY``/``ZINCRBY``, so replicas
writing at once lose nothing) at most ``FLUSH_SECONDS`` later, before every
read, and at shutdown. So another replica's counts show up to a second late,
and a count made just before midnight may land on the new day. Counting is
best-effort: a store hiccup never fails a look-up over a statistic (the
counts wait for the next write).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter as Tally
from collections.abc import Callable

from cachetools import TTLCache
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.balance.usage_figures import LOOKUP_PRICE, RISK_CHECK_PRICE, Counter, DailyStats
from bot.balance.usage_history import HISTORY_SCRIPT, History, parse_history

__all__ = ["LOOKUP_PRICE", "RISK_CHECK_PRICE", "Counter", "DailyCounters", "DailyStats"]

log = logging.getLogger(__name__)

# A day's figures stay this long after the day ends: the history promises 90 days.
RETAIN_DAYS = 100
FLUSH_SECONDS = 1.0
# A group's title is written again at most this often per process (and when it changes).
_TITLE_REFRESH_SECONDS = 6 * 3600
_TITLES_REMEMBERED = 10_000
_TITLE_CHARS = 64

# ARGV: prefix, retention seconds, the clock ("" = Redis TIME), the number of
# counter pairs, counter field/amount pairs, the number of group pairs, group
# id/paid pairs, then group id/title pairs. Keys expire at a fixed time after
# their day's end, so late writes never stretch a day's life.
_COUNT = """
local now = ARGV[3]
if now == '' then now = redis.call('TIME')[1] end
local day = math.floor(tonumber(now) / 86400)
local key = ARGV[1] .. ':' .. day
local expire_at = (day + 1) * 86400 + tonumber(ARGV[2])
local i = 5
local n = tonumber(ARGV[4])
for j = i, i + 2 * n - 1, 2 do redis.call('HINCRBY', key, ARGV[j], ARGV[j + 1]) end
if n > 0 then redis.call('EXPIREAT', key, expire_at) end
i = i + 2 * n
n = tonumber(ARGV[i])
i = i + 1
local groups = key .. ':groups'
for j = i, i + 2 * n - 1, 2 do redis.call('ZINCRBY', groups, ARGV[j + 1], ARGV[j]) end
if n > 0 then redis.call('EXPIREAT', groups, expire_at) end
i = i + 2 * n
local titles = ARGV[1] .. ':titles'
for j = i, #ARGV, 2 do redis.call('HSET', titles, ARGV[j], ARGV[j + 1]) end
if i <= #ARGV then redis.call('EXPIREAT', titles, expire_at) end
return 1
"""


class DailyCounters:
    """Per-day counters in the store (see the module docstring).

    ``clock`` (seconds since the epoch) stands in for Redis ``TIME``: tests
    cross a midnight or go back in time with it.
    """

    def __init__(
        self,
        store: Redis,
        *,
        prefix: str = "cb:stats",
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._prefix = prefix
        self._clock = clock
        self._count = store.register_script(_COUNT)
        self._history = store.register_script(HISTORY_SCRIPT)
        self._pending: Tally[Counter] = Tally()
        self._pending_groups: Tally[int] = Tally()
        self._pending_titles: dict[int, str] = {}
        # Titles written lately: a busy group's title is not rewritten on every flush.
        self._titles_written: TTLCache[int, str] = TTLCache(
            _TITLES_REMEMBERED, _TITLE_REFRESH_SECONDS
        )
        self._flusher: asyncio.Task[None] | None = None

    def count(self, counter: Counter, amount: int = 1, *, chat_id: int | None = None) -> None:
        """Add to today's ``counter``: written to the store within ``FLUSH_SECONDS``.

        A paid look-up made in a group (``chat_id``) counts for that group too.
        """
        self._pending[counter] += amount
        if chat_id is not None and counter is Counter.PAID_LOOKUPS:
            self._pending_groups[chat_id] += amount
        self._flush_later()

    def note_group(self, chat_id: int, title: str | None) -> None:
        """Remember a group's title for ``/stats`` (written with the next counts)."""
        title = " ".join((title or "").split())[:_TITLE_CHARS]
        if not title or self._titles_written.get(chat_id) == title:
            return
        self._pending_titles[chat_id] = title
        self._flush_later()

    async def snapshot(self) -> DailyStats:
        """Today's figures (raises the store's error when it is unreachable)."""
        return (await self.history(1)).today.stats

    async def history(self, days: int, *, top_groups: int = 0) -> History:
        """The last ``days`` UTC days, today last, and today's ``top_groups`` groups by
        paid look-ups (raises the store's error when it is unreachable)."""
        await self.flush()
        raw = await self._history(args=[self._prefix, days, top_groups, self._now()])
        return parse_history(raw)

    async def flush(self) -> None:
        """Write the counts made so far (also at shutdown); on a store failure they wait."""
        timer, self._flusher = self._flusher, None
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        pending, self._pending = self._pending, Tally()
        groups, self._pending_groups = self._pending_groups, Tally()
        titles, self._pending_titles = self._pending_titles, {}
        if not (pending or groups or titles):
            return
        args: list[str | int] = [self._prefix, RETAIN_DAYS * 86400, self._now(), len(pending)]
        args += [part for c, n in pending.items() for part in (c.value, n)]
        args.append(len(groups))
        args += [part for chat, n in groups.items() for part in (chat, n)]
        args += [part for chat, title in titles.items() for part in (chat, title)]
        try:
            await self._count(args=args)
        except RedisError:
            log.debug("store unreachable: counts kept for the next write")
            self._pending.update(pending)
            self._pending_groups.update(groups)
            self._pending_titles = titles | self._pending_titles
            return
        self._titles_written.update(titles)

    def _flush_later(self) -> None:
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_soon())

    def _now(self) -> str:
        return "" if self._clock is None else str(int(self._clock()))

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        await self.flush()
