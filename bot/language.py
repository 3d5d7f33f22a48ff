"""Which interface language a user gets: Telegram's hint or their /lang choice."""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

SUPPORTED_LOCALES = ("en", "ru", "zh", "es")
DEFAULT_LOCALE = "en"
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "zh": "中文", "es": "Español"}


def locale_for(language_code: str | None) -> str:
    """A supported locale for Telegram's ``language_code`` (``zh-hans``, ``es-419``, …)."""
    if not language_code:
        return DEFAULT_LOCALE
    primary = language_code.strip().lower().replace("_", "-").split("-", 1)[0]
    return primary if primary in SUPPORTED_LOCALES else DEFAULT_LOCALE


class LanguagePrefs:
    """Per-user language overrides set with /lang, kept in the store."""

    def __init__(self, store: Redis) -> None:
        self._store = store

    async def get(self, user_id: int) -> str | None:
        try:
            value = await self._store.get(f"lang:{user_id}")
        except RedisError:
            log.warning("store unreachable: using Telegram's language hint")
            return None
        lang = value.decode() if isinstance(value, bytes) else None
        return lang if lang in SUPPORTED_LOCALES else None

    async def set(self, user_id: int, lang: str) -> bool:
        if lang not in SUPPORTED_LOCALES:
            return False
        await self._store.set(f"lang:{user_id}", lang)
        return True

    async def locale(self, user_id: int | None, language_code: str | None) -> str:
        if user_id is not None:
            chosen = await self.get(user_id)
            if chosen:
                return chosen
        return locale_for(language_code)
