"""Whose currency a card converts to, as chosen with /currency and kept in the store.

In a private chat, the user's choice; in a group, the group's (a group admin
sets it, and every card there uses it, whoever pasted). Without a choice: the
operator's ``DEFAULT_CURRENCY``, else the one of the card's language. Choices
live in the store, so every replica sees them; each process trusts what it
read for a few seconds, so a busy chat costs no round trip per card.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cachetools import TTLCache
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.money.currencies import currency_for_language, normalize_code

log = logging.getLogger(__name__)

CHOICE_FRESH_SECONDS = 5.0
CHOICES_KEPT = 10_000
_UNKNOWN = "?"


@dataclass(frozen=True, slots=True)
class Holder:
    """Whose choice it is: a user's (private chats) or a group's."""

    kind: str  # "u" or "g"
    id: int

    @property
    def key(self) -> str:
        return f"cur:{self.kind}:{self.id}"


def holder_for(*, chat_id: int, user_id: int, is_group: bool) -> Holder:
    return Holder("g", chat_id) if is_group else Holder("u", user_id)


class CurrencyChoices:
    """The /currency choices of users and groups, and the default behind them."""

    def __init__(
        self,
        store: Redis,
        *,
        default: str | None = None,
        fresh_seconds: float = CHOICE_FRESH_SECONDS,
    ) -> None:
        self._store = store
        self._default = default
        self._recent: TTLCache[Holder, str | None] = TTLCache(CHOICES_KEPT, ttl=fresh_seconds)

    async def chosen(self, holder: Holder) -> str | None:
        """What ``holder`` chose, or None (also when the store cannot say)."""
        recent = self._recent.get(holder, _UNKNOWN)
        if recent != _UNKNOWN:
            return recent
        try:
            value = await self._store.get(holder.key)
        except RedisError:
            log.warning("store unreachable: cards use the default currency")
            return None
        code = normalize_code(value.decode()) if isinstance(value, bytes) else None
        self._recent[holder] = code
        return code

    async def choose(self, holder: Holder, currency: str) -> None:
        """Remember ``currency`` for ``holder`` (raises ``RedisError`` when it cannot)."""
        await self._store.set(holder.key, currency)
        self._recent[holder] = currency

    def fallback(self, lang: str) -> str:
        """The currency without a choice: DEFAULT_CURRENCY, else by language."""
        return self._default or currency_for_language(lang)

    async def currency(self, holder: Holder, lang: str) -> str:
        """The currency a card for ``holder`` in ``lang`` converts to."""
        return await self.chosen(holder) or self.fallback(lang)
