"""Cluster-wide pacing of upstream calls, with users served in turns.

The upstream counts a sliding one-second window, so a bucket that admits
``RPS`` calls at the start of each second can still put ``RPS + 1`` into some
interval. Calls are therefore *spaced*: at least ``pace_interval(rps)`` apart
(an 8% margin over ``1/RPS``: 80 ms of arrival jitter tolerated at 2 RPS)
across every process sharing the store.

Lua scripts keep the spacing, all on Redis ``TIME``; the queue's two:
- ``reserve`` (GCRA): hands out the next free slot, so processes queue in
  order instead of racing;
- ``confirm``: at the slot, claims it only when the last claimed call is at
  least one interval old, so a process that woke late cannot squeeze the next
  call closer to its own. A process's first call after a pause (a new
  connection, slow to arrive) claims a little later than now, so the call
  after it keeps its distance from the late arrival.

When nobody waits in this process and a slot is free right now, a request
takes it in one round trip (``take``; a paid look-up takes it in its charge's
round trip, see ``bot.lookup.admission``). Otherwise it queues: in each
process one dispatcher task holds at most one reserved slot, and
binds it to a waiting request only when the slot comes, to the user served
longest ago (never-served users first, in arrival order): users with queues
take turns round robin, and a user with a single link goes next, so one
user's burst costs another's single link about one slot. ``aiolimiter``
smooths the dispatcher locally. A request whose expected wait passes its
bound is refused with ``Busy`` up front, and one still queued at its deadline
gets ``Busy`` too.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass, field

from aiolimiter import AsyncLimiter
from redis.asyncio import Redis
from redis.exceptions import RedisError

SAFETY_MARGIN = 0.08
# A process's first call after a pause opens a new connection (and, in a fresh
# process, imports lazily): measured ~90 ms late on loopback, more with TLS
# over the internet. httpx drops idle connections after 5 s.
COLD_AFTER = 4.0
COLD_ALLOWANCE = 0.25

# KEYS: tat. ARGV: interval µs. Returns the wait in µs until the reserved slot.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, tat)
local nxt = slot + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.0f', nxt),
  'PX', string.format('%.0f', math.ceil((nxt - now) / 1000) + 1000))
return string.format('%.0f', slot - now)
"""

# KEYS: last. ARGV: interval µs, cold allowance µs. Claims "now" when the last
# claim is an interval old and returns 0; else returns the µs still to wait. A
# cold call (new connection) may reach the upstream late: the allowance moves
# the claim later so the next call keeps its distance from the late arrival.
_CONFIRM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local gap = tonumber(ARGV[1])
if now - last < gap then return string.format('%.0f', gap - (now - last)) end
local claim = now + tonumber(ARGV[2])
redis.call('SET', KEYS[1], string.format('%.0f', claim),
  'PX', string.format('%.0f', math.ceil((claim - now + gap) / 1000) + 1000))
return '0'
"""

# A Lua function (``bot.lookup.admission`` runs it after a charge, in one script).
# Args: tat key, last key, interval µs, cold allowance µs. Claims a slot only
# when one is free right now (nobody queued, the last call an interval old): 1, else 0.
TAKE_FUNCTION = """
local function take(tat_key, last_key, interval, cold)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local gap = tonumber(interval)
  if tonumber(redis.call('GET', tat_key) or '0') > now then return 0 end
  local last = tonumber(redis.call('GET', last_key) or '0')
  if now - last < gap then return 0 end
  redis.call('SET', tat_key, string.format('%.0f', now + gap),
    'PX', string.format('%.0f', math.ceil(gap / 1000) + 1000))
  local claim = now + tonumber(cold)
  redis.call('SET', last_key, string.format('%.0f', claim),
    'PX', string.format('%.0f', math.ceil((claim - now + gap) / 1000) + 1000))
  return 1
end
"""
_TAKE = TAKE_FUNCTION + "return take(KEYS[1], KEYS[2], ARGV[1], ARGV[2])"

# KEYS: tat, last. ARGV: pause µs, interval µs. Pushes every later reservation
# past now + pause, and holds slots already reserved (``confirm`` waits an
# interval after ``last``) until then too.
_PENALIZE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local pause = tonumber(ARGV[1])
local ttl = string.format('%.0f', math.ceil(pause / 1000) + 1000)
local target = now + pause
if target > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], string.format('%.0f', target), 'PX', ttl)
end
local hold = target - tonumber(ARGV[2])
if hold > tonumber(redis.call('GET', KEYS[2]) or '0') then
  redis.call('SET', KEYS[2], string.format('%.0f', hold), 'PX', ttl)
end
return 1
"""


def pace_interval(rps: float, margin: float = SAFETY_MARGIN) -> float:
    """Seconds between calls so no one-second window ever holds more than ``rps``.

    ``n`` calls fit a window only if ``(n - 1) * interval <= 1``; spacing by a
    little over ``1 / floor(rps)`` keeps ``n <= floor(rps)``.
    """
    allowed = math.floor(rps) if rps >= 1 else rps
    return (1.0 + margin) / allowed


class Busy(Exception):
    """The wait for an upstream slot would pass its bound; tell the user, don't hang."""

    def __init__(self, expected_wait: float) -> None:
        super().__init__(f"upstream busy: about {expected_wait:.1f}s to wait")
        self.expected_wait = expected_wait


@dataclass(eq=False)
class _Waiter:
    user_id: int
    future: asyncio.Future[None] = field(repr=False)


class Pacer:
    """Fair, cluster-wide spacing of upstream calls (see the module docstring)."""

    def __init__(
        self,
        store: Redis,
        *,
        rps: float,
        max_wait: float = 20.0,
        cold_allowance: float = COLD_ALLOWANCE,
        prefix: str = "cb:pace",
    ) -> None:
        self.interval = pace_interval(rps)
        self._cold_us = round(cold_allowance * 1_000_000)
        self.max_wait = max_wait
        self._interval_us = round(self.interval * 1_000_000)
        self._tat_key = f"{prefix}:tat"
        self._last_key = f"{prefix}:last"
        self._reserve = store.register_script(_RESERVE)
        self._take = store.register_script(_TAKE)
        self._confirm = store.register_script(_CONFIRM)
        self._penalize = store.register_script(_PENALIZE)
        self._limiter = AsyncLimiter(1, 1 / rps)
        # Insertion order breaks ties: among never-served users, first come first served.
        self._queues: dict[int, deque[_Waiter]] = {}
        self._served: dict[int, float] = {}
        self._dispatcher: asyncio.Task[None] | None = None
        self._slot_at: float | None = None
        # Observed seconds between our grants under a backlog: with other
        # replicas sharing the key, our turn comes less often than `interval`.
        self._gap = self.interval
        self._last_grant: float | None = None
        self._backlogged = False

    @property
    def waiting(self) -> int:
        """Requests queued in this process."""
        return sum(len(q) for q in self._queues.values())

    def expected_wait(self, user_id: int) -> float:
        """Seconds until a new request of ``user_id`` would get its slot, taking turns."""
        loop = asyncio.get_running_loop()
        turn = len(self._queues.get(user_id, ())) + 1
        mine = self._rank(user_id)
        ahead = turn - 1
        for uid, queue in self._queues.items():
            if uid != user_id:
                # Users ranked before us get `turn` turns before ours, the rest one fewer.
                ahead += min(len(queue), turn if self._rank(uid) <= mine else turn - 1)
        first = 0.0 if self._slot_at is None else max(self._slot_at - loop.time(), 0.0)
        return first + ahead * self._gap

    async def acquire(self, user_id: int, deadline: float | None = None) -> None:
        """Wait for this user's turn at an upstream slot; the call may go at once.

        ``deadline`` is in ``loop.time()``; the wait is bounded by it and by
        ``max_wait``. Raises ``Busy`` when the slot would come later, and the
        store's ``RedisError`` when the shared state is unreachable.
        """
        if not await self.take_if_free(user_id):
            await self.wait_turn(user_id, deadline)

    async def wait_turn(self, user_id: int, deadline: float | None = None) -> None:
        """``acquire`` without trying for a free slot first: queue for a turn."""
        loop = asyncio.get_running_loop()
        bound = self.max_wait if deadline is None else min(self.max_wait, deadline - loop.time())
        expected = self.expected_wait(user_id)
        if expected > bound:
            raise Busy(expected)
        waiter = _Waiter(user_id, loop.create_future())
        self._queues.setdefault(user_id, deque()).append(waiter)
        if self._dispatcher is None:
            self._dispatcher = asyncio.create_task(self._dispatch())
        try:
            async with asyncio.timeout(bound):
                await waiter.future
        except TimeoutError:
            raise Busy(bound) from None
        finally:
            self._forget(waiter)

    async def take_if_free(self, user_id: int) -> bool:
        """Take a slot that is free right now, if nobody queues in this process; never waits."""
        claim = self.free_slot_claim()
        if claim is None:
            return False
        keys, args = claim
        if not await self._take(keys=keys, args=args):
            return False
        await self.took(user_id)
        return True

    def free_slot_claim(self) -> tuple[list[str], list[int | str]] | None:
        """The keys and arguments of ``TAKE_FUNCTION``; None when this process must queue."""
        if self._queues or self._dispatcher is not None or not self._limiter.has_capacity():
            return None
        loop = asyncio.get_running_loop()
        return [self._tat_key, self._last_key], self._claim_args(loop)

    async def took(self, user_id: int) -> None:
        """Book a slot that ``TAKE_FUNCTION`` gave ``user_id``; the call goes at once.

        The slot was claimed for now, and the next one is spaced from that
        claim: waiting here (this process's dispatcher may have taken the
        local limiter while the claim was on its way) would put the call next
        to the following one. The local limiter counts it when it has room.
        """
        loop = asyncio.get_running_loop()
        if self._limiter.has_capacity():
            await self._limiter.acquire()  # no wait: there is room
        self._measure_gap(loop.time())
        self._mark_served(user_id, loop.time())

    async def penalize(self, seconds: float) -> None:
        """The upstream said 429: hold every replica's next slot for ``seconds``."""
        await self._penalize(
            keys=[self._tat_key, self._last_key],
            args=[round(seconds * 1_000_000), self._interval_us],
        )

    async def aclose(self) -> None:
        """Stop the dispatcher; waiting requests get ``Busy``."""
        task, self._dispatcher = self._dispatcher, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for queue in self._queues.values():
            for waiter in queue:
                if not waiter.future.done():
                    waiter.future.set_exception(Busy(0.0))

    def _forget(self, waiter: _Waiter) -> None:
        queue = self._queues.get(waiter.user_id)
        if queue is not None and waiter in queue:
            queue.remove(waiter)
            if not queue:
                del self._queues[waiter.user_id]

    def _rank(self, user_id: int) -> float:
        return self._served.get(user_id, -math.inf)

    def _next_waiter(self) -> _Waiter | None:
        """The head of the queue of the user served longest ago (never served: first)."""
        while self._queues:
            user_id = min(self._queues, key=self._rank)
            queue = self._queues[user_id]
            waiter = queue.popleft()
            if not queue:
                del self._queues[user_id]
            if not waiter.future.done():
                return waiter
        return None

    def _mark_served(self, user_id: int, now: float) -> None:
        self._served[user_id] = now
        if len(self._served) > 10_000:
            # Forget users not served for a while: they rank as new again, which is fair.
            horizon = now - 600
            self._served = {u: t for u, t in self._served.items() if t > horizon}

    async def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._queues:
                await self._limiter.acquire()
                try:
                    await self._wait_for_slot(loop)
                except RedisError as exc:
                    self._fail_all(exc)
                    continue
                finally:
                    self._slot_at = None
                waiter = self._next_waiter()
                if waiter is None:
                    continue
                self._measure_gap(loop.time())
                self._mark_served(waiter.user_id, loop.time())
                waiter.future.set_result(None)
        finally:
            if self._dispatcher is asyncio.current_task():
                self._dispatcher = None

    def _measure_gap(self, now: float) -> None:
        # Only back-to-back grants (a queue was waiting) show our share of the key.
        if self._backlogged and self._last_grant is not None:
            gap = max(now - self._last_grant, self.interval)
            self._gap = 0.7 * self._gap + 0.3 * gap
        self._last_grant = now
        self._backlogged = bool(self._queues)

    async def _wait_for_slot(self, loop: asyncio.AbstractEventLoop) -> None:
        wait = int(await self._reserve(keys=[self._tat_key], args=[self._interval_us])) / 1e6
        self._slot_at = loop.time() + wait
        await asyncio.sleep(wait)
        args = self._claim_args(loop)
        # Not an Event: the claim lives in Redis, shared with other processes.
        while True:
            extra = int(await self._confirm(keys=[self._last_key], args=args))
            if extra <= 0:
                return
            await asyncio.sleep(extra / 1e6)

    def _claim_args(self, loop: asyncio.AbstractEventLoop) -> list[int | str]:
        """The interval and this claim's cold allowance, in µs."""
        cold = self._last_grant is None or loop.time() - self._last_grant > COLD_AFTER
        return [self._interval_us, self._cold_us if cold else 0]

    def _fail_all(self, exc: BaseException) -> None:
        """The store is unreachable: paid calls fail closed, nobody hangs."""
        while (waiter := self._next_waiter()) is not None:
            waiter.future.set_exception(exc)
