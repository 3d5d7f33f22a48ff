"""Server-side state of a product card, named by a short token in callback data.

``callback_data`` holds at most 64 bytes, so the item, the choice and the pages
shown live in the store under ``card:{token}`` with a TTL. Updates are
optimistic compare-and-set (a Lua script compares the stored bytes with what the
change was computed from), so concurrent taps from any number of processes
never lose or corrupt state; the same script runs on Redis and on fakeredis.
Every card keeps its whole item for the TTL (48 hours by default), so states
are stored compressed (``bot.packed_json``).
"""

from __future__ import annotations

import asyncio
import random
import re
import secrets
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, ValidationError
from redis.asyncio import Redis

from bot.item import Item
from bot.packed_json import pack, unpack

TOKEN_LENGTH = 12
# token_urlsafe(9) is exactly 12 characters of this alphabet (72 random bits).
_TOKEN_BYTES = 9
_TOKEN = re.compile(r"[A-Za-z0-9_-]{12}")
# Taps on one card are a handful at a time; a few dozen rounds absorb even
# a burst of 50, and the jitter below keeps contenders from colliding in step.
MAX_ATTEMPTS = 64

_COMPARE_AND_SET = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
  return 1
end
return 0
"""


class CardState(BaseModel):
    """Everything a card's taps need: never fetched again from the upstream."""

    model_config = ConfigDict(frozen=True)

    item: Item
    lang: str
    choice: tuple[int, ...]
    pages: tuple[int, ...]  # option page shown, per picker dimension
    photo: int = 0  # gallery index (the card renderer gives negative values a meaning)
    source_url: str  # canonical item URL


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
        self._cas = store.register_script(_COMPARE_AND_SET)

    @staticmethod
    def _key(token: str) -> str:
        return f"card:{token}"

    async def save(self, token: str, state: CardState) -> bool:
        """Store ``state`` under a new ``token``; False when the token is taken."""
        # NX: a collision in 72 bits is absurd, but never overwrite a card.
        return bool(await self._store.set(self._key(token), _encode(state), ex=self._ttl, nx=True))

    async def get(self, token: str) -> CardState | None:
        """The card's state; None for unknown, expired, undecodable or forged tokens."""
        if not is_token(token):
            return None
        raw = await self._store.getex(self._key(token), ex=self._ttl)
        return _decode(raw)

    async def update(
        self, token: str, change: Callable[[CardState], CardState]
    ) -> tuple[CardState, CardState] | None:
        """Apply ``change`` atomically; (old, new), or None when the card is gone.

        ``change`` may run more than once (on contention) and must be pure.
        Raises ``CardBusy`` if the state kept changing for ``MAX_ATTEMPTS`` rounds.
        """
        if not is_token(token):
            return None
        key = self._key(token)
        for attempt in range(MAX_ATTEMPTS):
            raw = await self._store.get(key)
            old = _decode(raw)
            if raw is None or old is None:
                return None
            new = change(old)
            if await self._cas(keys=[key], args=[raw, _encode(new), self._ttl]):
                return old, new
            await asyncio.sleep(random.uniform(0, 0.001 * min(attempt + 1, 10)))
        raise CardBusy(f"card state contended for {MAX_ATTEMPTS} attempts")


def _encode(state: CardState) -> bytes:
    return pack(state.model_dump_json())


def _decode(raw: bytes | str | None) -> CardState | None:
    if raw is None:
        return None
    text = unpack(raw.encode() if isinstance(raw, str) else raw)
    if text is None:
        return None
    try:
        return CardState.model_validate_json(text)
    except ValidationError:
        return None
