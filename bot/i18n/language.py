"""Which interface language a user gets: Telegram's hint or their /lang choice."""

from __future__ import annotations

import logging

from cachetools import TTLCache
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

SUPPORTED_LOCALES = ("en", "ru", "zh", "es")
DEFAULT_LOCALE = "en"
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "zh": "中文", "es": "Español"}
# A user's choice (or its absence) read from the store is trusted this long in
# this process: a busy user's next message or tap needs no round trip. A change
# made here shows at once; one made through another replica within this time.
CHOICE_FRESH_SECONDS = 5.0
CHOICES_KEPT = 10_000
_UNKNOWN = "?"


def locale_for(language_code: str | None) -> str:
    """A supported locale for Telegram's ``language_code`` (``zh-hans``, ``es-419``, …)."""
    if not language_code:
        return DEFAULT_LOCALE
    primary = language_code.strip().lower().replace("_", "-").split("-", 1)[0]
    return primary if primary in SUPPORTED_LOCALES else DEFAULT_LOCALE


class LanguagePrefs:
    """Per-user language overrides set with /lang, kept in the store."""

    def __init__(self, store: Redis, *, fresh_seconds: float = CHOICE_FRESH_SECONDS) -> None:
        self._store = store
        self._recent: TTLCache[int, str | None] = TTLCache(CHOICES_KEPT, ttl=fresh_seconds)

    async def get(self, user_id: int) -> str | None:
        recent = self._recent.get(user_id, _UNKNOWN)
        if recent is not _UNKNOWN:
            return recent
        try:
            value = await self._store.get(f"lang:{user_id}")
        except RedisError:
            log.warning("store unreachable: using Telegram's language hint")
            return None
        lang = value.decode() if isinstance(value, bytes) else None
        chosen = lang if lang in SUPPORTED_LOCALES else None
        self._recent[user_id] = chosen
        return chosen

    async def set(self, user_id: int, lang: str) -> bool:
        if lang not in SUPPORTED_LOCALES:
            return False
        await self._store.set(f"lang:{user_id}", lang)
        self._recent[user_id] = lang
        return True

    async def locale(self, user_id: int | None, language_code: str | None) -> str:
        if user_id is not None:
            chosen = await self.get(user_id)
            if chosen:
                return chosen
        return locale_for(language_code)
