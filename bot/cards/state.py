"""Server-side state of a product card, named by a short token in callback data.

``callback_data`` holds at most 64 bytes, so the choice and the pages shown
live in the store under ``card:{token}`` with a TTL (48 hours by default),
beside the key of the card's item. The item is kept once for all the cards
that show it (``cardItem:{digest of its contents}``, compressed by
``bot.storage.packed_json``): a popular item pasted a thousand times is stored once,
not a thousand times. Each process also keeps the items of the cards tapped
lately, decoded, so a tap reads and decodes only the small state.

Updates are optimistic compare-and-set (a Lua script compares the stored
bytes with what the change was computed from, and keeps the item alive as
long as the card), so concurrent taps from any number of processes never lose
or corrupt state; the same script runs on Redis and on fakeredis. States that
an earlier release stored with the whole item inside still read.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import secrets
from collections.abc import Callable
from typing import TypeVar

from cachetools import LRUCache
from pydantic import BaseModel, ConfigDict, ValidationError
from redis.asyncio import Redis

from bot.items.item import Item
from bot.storage.packed_json import pack, unpack

TOKEN_LENGTH = 12
# token_urlsafe(9) is exactly 12 characters of this alphabet (72 random bits).
_TOKEN_BYTES = 9
_TOKEN = re.compile(r"[A-Za-z0-9_-]{12}")
# Taps on one card are a handful at a time; a few dozen rounds absorb even
# a burst of 50, and the jitter below keeps contenders from colliding in step.
MAX_ATTEMPTS = 64

# A card's item outlives the card by this much: a card's TTL restarts at every
# tap, and so does its item's, in the same script.
ITEM_SLACK_SECONDS = 3600
# Decoded items kept in this process, counted in the objects they hold (a
# full garbage collection walks them all). The payload's bounds keep the
# largest item (2,000 SKUs) near 12,000.
ITEM_OBJECTS_KEPT = 20_000

# KEYS: card, item. ARGV: old state, new state, card TTL, item TTL.
Model = TypeVar("Model", bound=BaseModel)

_COMPARE_AND_SET = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
  return 1
end
return 0
"""


class _Shown(BaseModel):
    """What a card shows of its item: the choice, the pages, the photo, in a language."""

    model_config = ConfigDict(frozen=True)

    lang: str
    choice: tuple[int, ...]
    pages: tuple[int, ...]  # option page shown, per picker dimension
    photo: int = 0  # gallery index (the card renderer gives negative values a meaning)
    source_url: str  # canonical item URL
    agent: str | None = None  # the shopping agent chosen where the card was sent
    others: bool = False  # the keyboard's bottom shows the other agents' links


class CardState(_Shown):
    """Everything a card's taps need: never fetched again from the upstream."""

    item: Item


class _Stored(_Shown):
    """A card's state as stored: the item by the key of its one copy; ``unsure``: its
    message may not show this state's photo (a redraw failed)."""

    item_key: str
    unsure: bool = False


class CardBusy(Exception):
    """A card's state kept changing under us for ``MAX_ATTEMPTS`` rounds."""


def new_token() -> str:
    """A fresh unguessable token for a card (72 random bits)."""
    return secrets.token_urlsafe(_TOKEN_BYTES)


def is_token(token: str) -> bool:
    """True for strings shaped like our tokens; anything else is forged."""
    return _TOKEN.fullmatch(token) is not None


class CardStore:
    """Card states in Redis (or the in-process store), each with a TTL refreshed on use."""

    def __init__(self, store: Redis, ttl_seconds: int) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._item_ttl = ttl_seconds + ITEM_SLACK_SECONDS
        self._cas = store.register_script(_COMPARE_AND_SET)
        self._items: LRUCache[str, Item] = LRUCache(ITEM_OBJECTS_KEPT, getsizeof=_objects)

    @property
    def ttl_seconds(self) -> int:
        """How long a card's state lives after its last use."""
        return self._ttl

    @staticmethod
    def _key(token: str) -> str:
        return f"card:{token}"

    async def save(self, token: str, state: CardState) -> bool:
        """Store ``state`` under a new ``token``; False when the token is taken."""
        item = pack(state.item.model_dump_json())
        item_key = "cardItem:" + hashlib.sha256(item).hexdigest()[:32]
        async with self._store.pipeline(transaction=False) as pipe:
            pipe.set(item_key, item, ex=self._item_ttl)  # first: a tap may come at once
            # NX: a collision in 72 bits is absurd, but never overwrite a card.
            pipe.set(self._key(token), _encode(state, item_key), ex=self._ttl, nx=True)
            _, saved = await pipe.execute()
        self._items[item_key] = state.item
        return bool(saved)

    async def get(self, token: str) -> CardState | None:
        """The card's state; None for unknown, expired, undecodable or forged tokens."""
        if not is_token(token):
            return None
        stored = _decode(await self._store.getex(self._key(token), ex=self._ttl))
        return await self._state(stored)

    async def get_for_redraw(self, token: str) -> tuple[CardState | None, bool]:
        """The card's state, and whether its message may not show that state's photo
        (a redraw failed, ``mark_unsure``): read as ``get`` reads it, in one call."""
        if not is_token(token):
            return None, False
        stored = _decode(await self._store.getex(self._key(token), ex=self._ttl))
        unsure = isinstance(stored, _Stored) and stored.unsure
        return await self._state(stored), unsure

    async def mark_unsure(self, token: str) -> None:
        """The card's message failed to change: what it shows is no longer known, so
        its next redraw, on any replica, sends the photo as well as the caption.
        Kept in the card's state (taps carry it on) until ``mark_sure``."""
        await self._set_unsure(token, True)

    async def mark_sure(self, token: str) -> None:
        """The card's message was drawn whole again."""
        await self._set_unsure(token, False)

    async def _set_unsure(self, token: str, unsure: bool) -> None:
        if not is_token(token):
            return
        key = self._key(token)
        for attempt in range(MAX_ATTEMPTS):
            raw = await self._store.get(key)
            stored = _decode(raw)
            # A state of an earlier release (the item inside) has no room for it.
            if raw is None or not isinstance(stored, _Stored) or stored.unsure == unsure:
                return
            encoded = _pack_stored(stored.model_copy(update={"unsure": unsure}))
            if await self._cas(
                keys=[key, stored.item_key], args=[raw, encoded, self._ttl, self._item_ttl]
            ):
                return
            await asyncio.sleep(random.uniform(0, 0.001 * min(attempt + 1, 10)))
        raise CardBusy(f"card state contended for {MAX_ATTEMPTS} attempts")

    async def update(
        self, token: str, change: Callable[[CardState], CardState]
    ) -> tuple[CardState, CardState] | None:
        """Apply ``change`` atomically; (old, new), or None when the card is gone.

        ``change`` may run more than once (on contention) and must be pure; it
        never changes the card's item.
        Raises ``CardBusy`` if the state kept changing for ``MAX_ATTEMPTS`` rounds.
        """
        if not is_token(token):
            return None
        key = self._key(token)
        for attempt in range(MAX_ATTEMPTS):
            raw = await self._store.get(key)
            stored = _decode(raw)
            old = await self._state(stored)
            if raw is None or stored is None or old is None:
                return None
            new = change(old)
            if isinstance(stored, _Stored):
                item_key = stored.item_key
                encoded = _encode(new, item_key, unsure=stored.unsure)
            else:  # an earlier release's state, the item inside: kept so
                item_key, encoded = key, pack(new.model_dump_json())
            if await self._cas(
                keys=[key, item_key], args=[raw, encoded, self._ttl, self._item_ttl]
            ):
                return old, new
            await asyncio.sleep(random.uniform(0, 0.001 * min(attempt + 1, 10)))
        raise CardBusy(f"card state contended for {MAX_ATTEMPTS} attempts")

    async def _state(self, stored: _Stored | CardState | None) -> CardState | None:
        if not isinstance(stored, _Stored):
            return stored
        item = self._items.get(stored.item_key)
        if item is None:
            item = _decode_item(await self._store.getex(stored.item_key, ex=self._item_ttl))
            if item is None:
                return None
            self._items[stored.item_key] = item
        fields = stored.model_dump(exclude={"item_key", "unsure"})
        return CardState.model_construct(item=item, **fields)


def _objects(item: Item) -> int:
    """About how many objects the garbage collector tracks for ``item``."""
    options = sum(len(dimension.options) for dimension in item.dimensions)
    return 10 + 3 * len(item.skus) + 2 * options + len(item.images) + 3 * len(item.attributes)


def _encode(state: CardState, item_key: str, *, unsure: bool = False) -> bytes:
    shown = state.model_dump(exclude={"item"})
    return _pack_stored(_Stored(item_key=item_key, unsure=unsure, **shown))


def _pack_stored(stored: _Stored) -> bytes:
    # The flag is written only while set: the usual state reads as it always did.
    return pack(stored.model_dump_json(exclude=None if stored.unsure else {"unsure"}))


def _decode(raw: bytes | str | None) -> _Stored | CardState | None:
    """The stored state: the item by its key, or (an earlier release's) inside."""
    text = _unpacked(raw)
    return _read(_Stored, text) or _read(CardState, text)


def _decode_item(raw: bytes | str | None) -> Item | None:
    return _read(Item, _unpacked(raw))


def _read(model: type[Model], text: bytes | None) -> Model | None:
    if text is None:
        return None
    try:
        return model.model_validate_json(text)
    except ValidationError:
        return None


def _unpacked(raw: bytes | str | None) -> bytes | None:
    if raw is None:
        return None
    return unpack(raw.encode() if isinstance(raw, str) else raw)
