"""The daily usage history as stored: one script call reads many days at once.

The counters (``daily_usage``) write, per UTC day number ``d``, a hash
``<prefix>:<d>`` of counts and a sorted set ``<prefix>:<d>:groups`` of paid
look-ups per group, and keep group titles in ``<prefix>:titles``. Reading 90
days is one round trip, whatever the number of days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from bot.balance.usage_figures import LOOKUP_PRICE, Counter, DailyStats

# ARGV: prefix, number of days, number of top groups, the clock ("" = Redis TIME).
# Returns {today, {hash of day today-n+1}, …, {hash of today}, {id, paid, title, …}}.
HISTORY_SCRIPT = """
local now = ARGV[4]
if now == '' then now = redis.call('TIME')[1] end
local today = math.floor(tonumber(now) / 86400)
local days = tonumber(ARGV[2])
local out = {today}
for d = today - days + 1, today do
  out[#out + 1] = redis.call('HGETALL', ARGV[1] .. ':' .. d)
end
local top = {}
local n = tonumber(ARGV[3])
if n > 0 then
  local groups = ARGV[1] .. ':' .. today .. ':groups'
  local ranked = redis.call('ZREVRANGE', groups, 0, n - 1, 'WITHSCORES')
  for i = 1, #ranked, 2 do
    local title = redis.call('HGET', ARGV[1] .. ':titles', ranked[i])
    top[#top + 1] = ranked[i]
    top[#top + 1] = ranked[i + 1]
    top[#top + 1] = title or ''
  end
end
out[#out + 1] = top
return out
"""

_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class DayFigures:
    """One UTC day's figures."""

    day: date
    stats: DailyStats


@dataclass(frozen=True, slots=True)
class GroupUsage:
    """One group's paid look-ups on a day; ``title`` is empty when never seen."""

    chat_id: int
    title: str
    paid_lookups: int

    @property
    def spend(self) -> Decimal:
        return self.paid_lookups * LOOKUP_PRICE


@dataclass(frozen=True, slots=True)
class History:
    """Consecutive UTC days, oldest first, today last (days without data count zero),
    and today's top groups by spend."""

    days: list[DayFigures]
    top_groups: list[GroupUsage]

    @property
    def today(self) -> DayFigures:
        return self.days[-1]


def parse_history(raw: list[object]) -> History:
    """The history script's answer as figures; unknown fields are ignored."""
    today = int(_text(raw[0]))
    hashes = raw[1:-1]
    known = {c.value: c for c in Counter}
    days = []
    for offset, flat in enumerate(hashes):
        assert isinstance(flat, list)
        counts: dict[Counter, int] = {}
        for name, value in zip(flat[::2], flat[1::2], strict=True):
            counter = known.get(_text(name))
            if counter is not None:
                counts[counter] = int(_text(value))
        number = today - len(hashes) + 1 + offset
        days.append(DayFigures(_EPOCH + timedelta(days=number), DailyStats(counts)))
    top = raw[-1]
    assert isinstance(top, list)
    groups = [
        GroupUsage(int(_text(chat)), _text(title), int(float(_text(paid))))
        for chat, paid, title in zip(top[::3], top[1::3], top[2::3], strict=True)
    ]
    return History(days, groups)


def _text(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
