"""Fetched items, kept for ``CACHE_TTL_SECONDS``, and coalescing of identical look-ups.

The cache keys by (platform, item id, language). Besides items it keeps
answers that say how a look-up ended without one, so that look-ups waiting
on it, and re-pastes, learn it free:
- "not found": the upstream said so; charged once, then free for a while;
- "held": the upstream failed on a call it may have billed (a broken answer,
  a 5xx, a timeout after the request left). The item is not asked again for
  ``hold_seconds``, doubled on each failure in a row up to
  ``max_hold_seconds``; the failures in a row are counted per item in the
  store (for a day, and forgotten once the item is found), so every replica
  holds it alike;
- "failed": a failure that cost nothing (the call never left, or was refused
  unbilled), shared with the waiters for a few seconds only.

Each process also keeps the answers it saw last (for at most
``RECENT_SECONDS`` and never past their time in the store): a link pasted
again in a busy group costs no round trip. They are bounded by their objects
(``RECENT_OBJECTS``), not their number: an item of 2,000 SKUs holds ~6,000,
and every full garbage collection walks them all while the bot stands still.

Coalescing has two halves:
- in one process, identical look-ups in flight share one fetch
  (``bot.balance.in_flight.InFlight``): the first runs it, the others wait for its result;
- across processes, a short lock (SET NX PX, kept alive by its holder) names
  the one process that fetches (asked for with the cached answer, and charged
  in the same round trip: ``bot.lookup.admission``); the others poll the cache until the answer
  appears, and take over when the lock vanishes without one (the holder died
  or gave up). The wait is bounded by the caller's timeout.

The fetching process publishes the answer and releases the lock in one
script, sent in the background: its own user's card does not wait for it,
and its own next look-up finds the answer among the recent ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum

from cachetools import TLRUCache
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.items.item import Item, ItemRef
from bot.ops.background import Background, repeating
from bot.storage.packed_json import pack, unpack

log = logging.getLogger(__name__)


# A not-found answer is cached this long at most: items get listed again.
NOT_FOUND_TTL = 600
# A failure that cost nothing is shared with waiters this long (seconds), then look-ups retry.
FAILURE_TTL = 3.0
# A failure that may have been billed holds its item this long at first (seconds),
# doubled on each failure in a row up to the longest hold.
HOLD_SECONDS = 60.0
MAX_HOLD_SECONDS = 900.0
# How long an item's failures in a row are counted after the last one.
STRIKES_SECONDS = 86400
# With the cache off (TTL 0) an item still lives this long, so waiting replicas get it.
HANDOFF_TTL = 10
LOCK_TTL_MS = 5000
# Answers this process saw last, kept in memory: about this many objects in
# all (a full collection over 50,000 took ~60 ms on a 2-core VM).
RECENT_OBJECTS = 50_000
RECENT_SECONDS = 60.0

# A Lua function: ``bot.lookup.admission`` runs it with the charge, in one script.
# Args: item key, lock key, token, lock ms. The cached answer and its ms to live,
# else 1 when this caller now holds the lock, else 0 (another process fetches).
GET_OR_LOCK_FUNCTION = """
local function get_or_lock(item_key, lock_key, token, lock_ms)
  local answer = redis.call('GET', item_key)
  if answer then return {answer, redis.call('PTTL', item_key)} end
  if redis.call('SET', lock_key, token, 'NX', 'PX', lock_ms) then return 1 end
  return 0
end
"""

# KEYS: item, lock, failures in a row. ARGV: token, answer ('' for none), answer ms,
# then for a held failure: '1', the longest hold ms, the failures' seconds to live.
# Writes the answer (a held failure for its first hold doubled per failure before
# it, an item forgetting the failures), then lets go of the lock if it is still ours.
_SETTLE = """
local ms = tonumber(ARGV[3])
if ARGV[4] == '1' then
  local strikes = math.min(redis.call('INCR', KEYS[3]), 30)
  redis.call('EXPIRE', KEYS[3], ARGV[6])
  ms = math.min(ms * 2 ^ (strikes - 1), tonumber(ARGV[5]))
elseif string.sub(ARGV[2], 1, 1) == 'I' then
  redis.call('DEL', KEYS[3])
end
if ARGV[2] ~= '' then redis.call('SET', KEYS[1], ARGV[2], 'PX', string.format('%d', ms)) end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
"""

_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class EntryKind(StrEnum):
    """What a cache entry says about an item."""

    ITEM = "I"
    NOT_FOUND = "N"
    HELD = "H"
    FAILED = "F"


@dataclass(frozen=True, slots=True)
class LockClaim:
    """One ask for an item's answer, else its fetch lock: ``GET_OR_LOCK_FUNCTION``'s arguments."""

    item_key: str
    lock_key: str
    token: str

    @property
    def keys(self) -> list[str]:
        return [self.item_key, self.lock_key]

    @property
    def args(self) -> list[str | int]:
        return [self.token, LOCK_TTL_MS]


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A cached answer: the item, "not found", or a failure, held or not (``failure`` names it)."""

    kind: EntryKind
    item: Item | None = None
    failure: str | None = None


def objects_held(entry: CacheEntry) -> int:
    """About how many objects the garbage collector tracks for ``entry``."""
    item = entry.item
    if item is None:
        return 2
    options = sum(len(dimension.options) for dimension in item.dimensions)
    return 10 + 3 * len(item.skus) + 2 * options


class ItemCache:
    """Items and short-lived answers in the store, plus the per-item fetch lock."""

    def __init__(
        self,
        store: Redis,
        *,
        ttl_seconds: int,
        failure_ttl: float = FAILURE_TTL,
        hold_seconds: float = HOLD_SECONDS,
        max_hold_seconds: float = MAX_HOLD_SECONDS,
        prefix: str = "cb",
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.failure_ttl = failure_ttl
        self.hold_seconds = hold_seconds
        self.max_hold_seconds = max(max_hold_seconds, hold_seconds)
        self._store = store
        self._prefix = prefix
        self._settle = store.register_script(_SETTLE)
        self._extend = store.register_script(_EXTEND)
        # key -> (answer, when it expires on the monotonic clock)
        self._recent: TLRUCache[str, tuple[CacheEntry, float]] = TLRUCache(
            maxsize=RECENT_OBJECTS,
            ttu=lambda _key, value, _now: value[1],
            getsizeof=lambda value: objects_held(value[0]),
        )
        self._publishing = Background()

    def _key(self, kind: str, ref: ItemRef, lang: str) -> str:
        return f"{self._prefix}:{kind}:{ref.platform.value}:{ref.item_id}:{lang}"

    async def get(self, ref: ItemRef, lang: str) -> CacheEntry | None:
        """The cached answer for ``ref`` in ``lang``, if any."""
        recent = self.recent(ref, lang)
        if recent is not None:
            return recent
        return self._decode(ref, await self._store.get(self._key("item", ref, lang)))

    def recent(self, ref: ItemRef, lang: str) -> CacheEntry | None:
        """The answer for ``ref`` this process saw lately, if any: no round trip."""
        recent = self._recent.get(self._key("item", ref, lang))
        return None if recent is None else recent[0]

    def lock_claim(self, ref: ItemRef, lang: str) -> LockClaim:
        """A fresh ask for ``ref``'s cached answer, else its fetch lock."""
        return LockClaim(
            self._key("item", ref, lang), self._key("lock", ref, lang), secrets.token_hex(8)
        )

    async def read_answer(
        self, ref: ItemRef, claim: LockClaim, answer: list[bytes | int]
    ) -> CacheEntry | None:
        """The cached answer ``GET_OR_LOCK_FUNCTION`` gave ``claim`` (``[body, ms to live]``).

        None when it is unreadable (an older release wrote it): it is dropped,
        and the caller asks again.
        """
        raw, ttl_ms = answer
        entry = self._decode(ref, raw if isinstance(raw, bytes) else None)
        if entry is None:
            await self._store.delete(claim.item_key)
            return None
        self._remember(claim.item_key, entry, int(ttl_ms) / 1000)
        return entry

    async def is_locked(self, ref: ItemRef, lang: str) -> bool:
        return bool(await self._store.exists(self._key("lock", ref, lang)))

    @contextlib.asynccontextmanager
    async def holding(self, ref: ItemRef, lang: str, token: str) -> AsyncIterator[HeldLock]:
        """Keep the lock alive while the body runs; the body publishes the answer.

        A body that ends without publishing (an error, a cancellation) releases the lock.
        """
        held = HeldLock(self, ref, lang, token)
        lock_key = self._key("lock", ref, lang)

        async def extend() -> None:
            await self._extend(keys=[lock_key], args=[token, LOCK_TTL_MS])

        try:
            renew = LOCK_TTL_MS / 3000
            async with repeating(extend, first_after=renew, every=renew):
                yield held
        finally:
            if not held.published:
                with contextlib.suppress(Exception):
                    await self._settle_in_store(ref, lang, token, None)

    async def wait_for_answer(self, ref: ItemRef, lang: str) -> CacheEntry | None:
        """Wait while another process holds the lock: its answer, or None to take over.

        Unbounded by itself: callers run it under their own timeout.
        """
        delay = 0.02
        while True:
            entry = await self.get(ref, lang)
            if entry is not None:
                return entry
            if not await self.is_locked(ref, lang):
                # Released just now? The answer is written before the release.
                return await self.get(ref, lang)
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.2)

    def publish(self, ref: ItemRef, lang: str, token: str, answer: CacheEntry | None) -> None:
        """Share ``answer`` (None: nothing to share) and release the lock.

        At once in this process; in the store by a background write, answer and
        release in one step (a waiter that sees the lock gone finds the answer).
        """
        if answer is not None:
            self._remember(self._key("item", ref, lang), answer, self._ttl_ms(answer) / 1000)
        self._publishing.spawn(self._publish(ref, lang, token, answer))

    async def aclose(self) -> None:
        """Finish the background writes (at shutdown)."""
        await self._publishing.wait(None)

    async def _publish(
        self, ref: ItemRef, lang: str, token: str, answer: CacheEntry | None
    ) -> None:
        try:
            await self._settle_in_store(ref, lang, token, answer)
        except RedisError:
            log.warning("store unreachable: answer not cached")

    async def _settle_in_store(
        self, ref: ItemRef, lang: str, token: str, answer: CacheEntry | None
    ) -> None:
        body = self._encode(answer) if answer is not None else b""
        ttl_ms = self._ttl_ms(answer) if answer is not None else 0
        keys = [self._key(kind, ref, lang) for kind in ("item", "lock", "strikes")]
        args: list[str | int | bytes] = [token, body, ttl_ms]
        if answer is not None and answer.kind is EntryKind.HELD:
            args += ["1", int(self.max_hold_seconds * 1000), STRIKES_SECONDS]
        await self._settle(keys=keys, args=args)

    def _remember(self, key: str, entry: CacheEntry, ttl: float) -> None:
        self._recent[key] = (entry, time.monotonic() + min(ttl, RECENT_SECONDS))

    def _ttl_ms(self, entry: CacheEntry) -> int:
        """How long ``entry`` lives in the store."""
        if entry.kind is EntryKind.ITEM:
            ttl: float = self.ttl_seconds or HANDOFF_TTL
        elif entry.kind is EntryKind.NOT_FOUND:
            ttl = min(self.ttl_seconds, NOT_FOUND_TTL) or HANDOFF_TTL
        elif entry.kind is EntryKind.HELD:
            ttl = self.hold_seconds  # the first hold: the store makes repeats longer
        else:
            ttl = self.failure_ttl
        return max(int(ttl * 1000), 1)

    @staticmethod
    def _encode(entry: CacheEntry) -> bytes:
        """The stored form of ``entry``: its kind's letter, then the packed item or the failure."""
        if entry.kind is EntryKind.ITEM:
            assert entry.item is not None
            return EntryKind.ITEM.value.encode() + pack(entry.item.model_dump_json())
        return (entry.kind.value + (entry.failure or "")).encode()

    @staticmethod
    def _decode(ref: ItemRef, raw: bytes | str | None) -> CacheEntry | None:
        if isinstance(raw, str):
            raw = raw.encode()
        if raw is None:
            return None
        try:
            kind, body = EntryKind(raw[:1].decode()), raw[1:]
            if kind is EntryKind.ITEM:
                text = unpack(body)
                if text is None:
                    raise ValueError("not an item's JSON")
                return CacheEntry(kind, item=Item.model_validate_json(text))
        except ValueError:
            log.warning("unreadable cache entry for %s dropped", ref.key)
            return None
        return CacheEntry(kind, failure=body.decode() or None)


@dataclass
class HeldLock:
    """The fetch lock of one item, held by this caller until it publishes the answer."""

    cache: ItemCache
    ref: ItemRef
    lang: str
    token: str
    published: bool = False

    def publish(self, answer: CacheEntry | None) -> None:
        """See ``ItemCache.publish``."""
        self.published = True
        self.cache.publish(self.ref, self.lang, self.token, answer)
