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

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
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
        self._release = store.register_script(_RELEASE)
        self._extend = store.register_script(_EXTEND)

    def _key(self, kind: str, ref: ItemRef, lang: str) -> str:
        return f"{self._prefix}:{kind}:{ref.platform.value}:{ref.item_id}:{lang}"

    async def get(self, ref: ItemRef, lang: str) -> CacheEntry | None:
        """The cached answer for ``ref`` in ``lang``, if any."""
        raw = await self._store.get(self._key("item", ref, lang))
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

    async def put_item(self, ref: ItemRef, lang: str, item: Item) -> None:
        body = EntryKind.ITEM.value.encode() + item.model_dump_json().encode()
        await self._put(ref, lang, body, self.ttl_seconds or HANDOFF_TTL)

    async def put_not_found(self, ref: ItemRef, lang: str) -> None:
        ttl = min(self.ttl_seconds, NOT_FOUND_TTL) or HANDOFF_TTL
        await self._put(ref, lang, EntryKind.NOT_FOUND.value.encode(), ttl)

    async def put_failure(self, ref: ItemRef, lang: str, failure: str) -> None:
        body = (EntryKind.FAILED.value + failure).encode()
        await self._put(ref, lang, body, self.failure_ttl)

    async def _put(self, ref: ItemRef, lang: str, body: bytes, ttl: float) -> None:
        await self._store.set(self._key("item", ref, lang), body, px=max(int(ttl * 1000), 1))

    async def try_lock(self, ref: ItemRef, lang: str) -> str | None:
        """Become the one process fetching ``ref``: a token, or None when another holds it."""
        token = secrets.token_hex(8)
        key = self._key("lock", ref, lang)
        taken = await self._store.set(key, token, nx=True, px=LOCK_TTL_MS)
        return token if taken else None

    async def is_locked(self, ref: ItemRef, lang: str) -> bool:
        return bool(await self._store.exists(self._key("lock", ref, lang)))

    @contextlib.asynccontextmanager
    async def holding(self, ref: ItemRef, lang: str, token: str) -> AsyncIterator[None]:
        """Keep the lock alive while the body runs, then release it (if still ours)."""
        key = self._key("lock", ref, lang)

        async def keep_alive() -> None:
            while True:
                await asyncio.sleep(LOCK_TTL_MS / 3000)
                with contextlib.suppress(Exception):
                    await self._extend(keys=[key], args=[token, LOCK_TTL_MS])

        task = asyncio.create_task(keep_alive())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(Exception):
                await self._release(keys=[key], args=[token])

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
