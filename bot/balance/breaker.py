"""The circuit breaker: stop paying calls when the key or the balance is bad.

A ``401`` (key) or ``402`` (balance) from the upstream opens the breaker for
the cooldown, shared by every replica through the store. While open, calls
are refused without touching the upstream. After the cooldown the breaker is
half-open: one caller per cooldown (SET NX) may probe; a good answer closes
it, another 401/402 opens it for a new cooldown. Admins are told once per
cooldown: ``trip`` says whether this caller is the one to tell them.

A closed breaker is taken at its word for ``CLOSED_FRESH`` seconds: each
process asks the store at most that often while all is well, so a paid call
does not wait for it. After another replica trips it, this one may make a
call or two in that second; the upstream refuses them (a 401 or 402 is not
billed) and this process trips too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

from redis.asyncio import Redis

# KEYS: open, tripped, probe. ARGV: cooldown ms.
# Returns {state, reason}: 0 closed, 1 refused (open or probe taken), 2 you probe.
_CHECK = """
local reason = redis.call('GET', KEYS[1])
if reason then return {1, reason} end
reason = redis.call('GET', KEYS[2])
if not reason then return {0, ''} end
if redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[1]) then return {2, reason} end
return {1, reason}
"""

# KEYS: open, tripped, probe, notice. ARGV: reason, cooldown ms, memory ms.
# Opens the breaker unless already open (the cooldown starts at the first trip).
# Returns 1 when this caller should notify admins (once per cooldown).
_TRIP = """
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
redis.call('DEL', KEYS[3])
if redis.call('SET', KEYS[4], '1', 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""

CLOSED_FRESH = 1.0

# A tripped breaker that nobody probes for this long is forgotten: the next
# call is a normal one and trips it again if the key is still bad.
_MEMORY_MS = 24 * 3600 * 1000


class BreakerReason(StrEnum):
    """Why paid calls stopped: the key (401) or the balance (402)."""

    AUTH = "auth"
    BALANCE = "balance"


class Verdict(StrEnum):
    """What ``check`` allows."""

    CLOSED = "closed"
    PROBE = "probe"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class BreakerState:
    """The answer of ``check``; ``reason`` is set unless closed."""

    verdict: Verdict
    reason: BreakerReason | None = None


class Breaker:
    """Shared breaker state in the store (see the module docstring)."""

    def __init__(
        self, store: Redis, *, cooldown_seconds: float, prefix: str = "cb:breaker"
    ) -> None:
        self.cooldown_seconds = cooldown_seconds
        self._store = store
        self._keys = [f"{prefix}:{name}" for name in ("open", "tripped", "probe", "notice")]
        self._check = store.register_script(_CHECK)
        self._trip = store.register_script(_TRIP)
        self._closed_until = 0.0  # monotonic time until which "closed" is believed

    @property
    def _cooldown_ms(self) -> int:
        return max(int(self.cooldown_seconds * 1000), 1)

    async def is_open(self) -> bool:
        """True during the cooldown (read-only: does not take the probe)."""
        return bool(await self._store.exists(self._keys[0]))

    async def open_reason(self) -> BreakerReason | None:
        """The reason while open (read-only), else None."""
        raw = await self._store.get(self._keys[0])
        return None if raw is None else BreakerReason(_text(raw))

    async def check(self) -> BreakerState:
        """May a paid call go ahead? Half-open: the first caller per cooldown probes."""
        if time.monotonic() < self._closed_until:
            return BreakerState(Verdict.CLOSED)
        code, raw = await self._check(keys=self._keys[:3], args=[self._cooldown_ms])
        reason = BreakerReason(_text(raw)) if raw else None
        verdict = {0: Verdict.CLOSED, 1: Verdict.REFUSED, 2: Verdict.PROBE}[int(code)]
        if verdict is Verdict.CLOSED:
            self._closed_until = time.monotonic() + CLOSED_FRESH
        return BreakerState(verdict, reason)

    async def trip(self, reason: BreakerReason) -> bool:
        """Open for the cooldown; True for exactly one caller per cooldown (tell admins)."""
        self._closed_until = 0.0
        notify = await self._trip(
            keys=self._keys, args=[reason.value, self._cooldown_ms, _MEMORY_MS]
        )
        return bool(notify)

    async def close(self) -> None:
        """A probe succeeded: paid calls may flow again (and a new trip is news again)."""
        await self._store.delete(*self._keys)

    async def release_probe(self) -> None:
        """A probe ended without telling us about the key or balance: let another probe."""
        await self._store.delete(self._keys[2])


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw
