"""Fetched items, kept for ``CACHE_TTL_SECONDS``, and coalescing of identical look-ups.

The cache keys by (platform, item id, language). Besides items it keeps two
short-lived answers so that look-ups waiting on another one learn how it
ended: "not found" (the upstream said so; charged once, then free for a
while) and "failed" (a transient failure, kept a few seconds only).

Coalescing has two halves:
- in one process, identical look-ups in flight share one task
  (``InFlight``);
- across processes, a short lock (SET NX PX, kept alive by its holder) names
  the one process that fetches; the others poll the cache until the answer
  appears, and take over when the lock vanishes without one (the holder died
  or gave up). The wait is bounded by the caller's timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from redis.asyncio import Redis

from bot.item import Item, ItemRef

log = logging.getLogger(__name__)

T = TypeVar("T")

# A not-found answer is cached this long at most: items get listed again.
NOT_FOUND_TTL = 600
# A transient failure is shared with waiters this long (seconds), then look-ups retry.
FAILURE_TTL = 3.0
# With the cache off (TTL 0) an item still lives this long, so waiting replicas get it.
HANDOFF_TTL = 10
LOCK_TTL_MS = 5000

# KEYS: item, lock. ARGV: token, lock ms. The cached answer, else 1 when this
# caller now holds the lock, else 0 (another process fetches).
_GET_OR_LOCK = """
local answer = redis.call('GET', KEYS[1])
if answer then return answer end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""

# KEYS: item, lock. ARGV: token, answer ('' for none), answer ms.
# Writes the answer, then lets go of the lock if it is still ours.
_SETTLE = """
if ARGV[2] ~= '' then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
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
    FAILED = "F"


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A cached answer: the item, "not found", or a failure (``failure`` names it)."""

    kind: EntryKind
    item: Item | None = None
    failure: str | None = None


class ItemCache:
    """Items and short-lived answers in the store, plus the per-item fetch lock."""

    def __init__(
        self,
        store: Redis,
        *,
        ttl_seconds: int,
        failure_ttl: float = FAILURE_TTL,
        prefix: str = "cb",
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.failure_ttl = failure_ttl
        self._store = store
        self._prefix = prefix
        self._get_or_lock = store.register_script(_GET_OR_LOCK)
        self._settle = store.register_script(_SETTLE)
        self._extend = store.register_script(_EXTEND)

    def _key(self, kind: str, ref: ItemRef, lang: str) -> str:
        return f"{self._prefix}:{kind}:{ref.platform.value}:{ref.item_id}:{lang}"

    async def get(self, ref: ItemRef, lang: str) -> CacheEntry | None:
        """The cached answer for ``ref`` in ``lang``, if any."""
        return self._decode(ref, await self._store.get(self._key("item", ref, lang)))

    async def get_or_lock(self, ref: ItemRef, lang: str) -> tuple[CacheEntry | None, str | None]:
        """In one round trip: the cached answer, or else the fetch lock.

        ``(entry, None)`` on a hit; ``(None, token)`` when this caller must fetch
        (see ``holding``); ``(None, None)`` while another process fetches.
        """
        token = secrets.token_hex(8)
        keys = [self._key("item", ref, lang), self._key("lock", ref, lang)]
        answer = await self._get_or_lock(keys=keys, args=[token, LOCK_TTL_MS])
        if isinstance(answer, bytes | str):
            entry = self._decode(ref, answer)
            # An unreadable entry counts as a miss: the next look-up fetches it again.
            return entry, None
        return None, token if answer == 1 else None

    async def is_locked(self, ref: ItemRef, lang: str) -> bool:
        return bool(await self._store.exists(self._key("lock", ref, lang)))

    @contextlib.asynccontextmanager
    async def holding(self, ref: ItemRef, lang: str, token: str) -> AsyncIterator[HeldLock]:
        """Keep the lock alive while the body runs; the body settles it with the answer.

        A body that ends without settling (an error, a cancellation) releases the lock.
        """
        held = HeldLock(self, ref, lang, token)
        lock_key = self._key("lock", ref, lang)

        async def keep_alive() -> None:
            while True:
                await asyncio.sleep(LOCK_TTL_MS / 3000)
                with contextlib.suppress(Exception):
                    await self._extend(keys=[lock_key], args=[token, LOCK_TTL_MS])

        task = asyncio.create_task(keep_alive())
        try:
            yield held
        finally:
            task.cancel()
            if not held.settled:
                with contextlib.suppress(Exception):
                    await held.settle(None)

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

    async def settle(self, ref: ItemRef, lang: str, token: str, answer: CacheEntry | None) -> None:
        """Publish ``answer`` (None: nothing to share) and release the lock, in one step.

        The answer is written first, so a waiter that sees the lock gone finds it.
        """
        body, ttl_ms = self._encode(answer) if answer is not None else (b"", 0)
        keys = [self._key("item", ref, lang), self._key("lock", ref, lang)]
        await self._settle(keys=keys, args=[token, body, ttl_ms])

    def _encode(self, entry: CacheEntry) -> tuple[bytes, int]:
        """The stored form of ``entry`` and how long it lives, in milliseconds."""
        if entry.kind is EntryKind.ITEM:
            assert entry.item is not None
            body = EntryKind.ITEM.value.encode() + entry.item.model_dump_json().encode()
            ttl: float = self.ttl_seconds or HANDOFF_TTL
        elif entry.kind is EntryKind.NOT_FOUND:
            body, ttl = b"N", min(self.ttl_seconds, NOT_FOUND_TTL) or HANDOFF_TTL
        else:
            body, ttl = (EntryKind.FAILED.value + (entry.failure or "")).encode(), self.failure_ttl
        return body, max(int(ttl * 1000), 1)

    @staticmethod
    def _decode(ref: ItemRef, raw: bytes | str | None) -> CacheEntry | None:
        if isinstance(raw, str):
            raw = raw.encode()
        if raw is None:
            return None
        kind, body = EntryKind(raw[:1].decode()), raw[1:]
        if kind is EntryKind.ITEM:
            try:
                return CacheEntry(kind, item=Item.model_validate_json(body))
            except ValueError:
                log.warning("unreadable cache entry for %s dropped", ref.key)
                return None
        return CacheEntry(kind, failure=body.decode() or None)


@dataclass
class HeldLock:
    """The fetch lock of one item, held by this caller until it settles."""

    cache: ItemCache
    ref: ItemRef
    lang: str
    token: str
    settled: bool = False

    async def settle(self, answer: CacheEntry | None) -> None:
        """Publish ``answer`` (None: nothing to share) and release the lock."""
        self.settled = True
        await self.cache.settle(self.ref, self.lang, self.token, answer)


class InFlight(Generic[T]):
    """Identical work in flight in this process runs once; the others join it."""

    def __init__(self) -> None:
        self._tasks: dict[Hashable, asyncio.Future[T]] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    async def run(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """The result of ``work`` for ``key``, and whether this caller joined another's.

        The shared task survives a caller being cancelled (the others still wait on it).
        """
        task = self._tasks.get(key)
        joined = task is not None
        if task is None:
            task = asyncio.ensure_future(work())
            self._tasks[key] = task
            task.add_done_callback(lambda _t: self._tasks.pop(key, None))
        return await asyncio.shield(task), joined
