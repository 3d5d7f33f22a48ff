"""Interface languages: the gettext catalogs under ``locales/`` and the middleware
that picks the user's locale for each handled update."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware

from bot.i18n.language import DEFAULT_LOCALE, LanguagePrefs

LOCALES_DIR = Path(__file__).resolve().parents[2] / "locales"
DOMAIN = "messages"


def create_i18n() -> I18n:
    return I18n(path=LOCALES_DIR, default_locale=DEFAULT_LOCALE, domain=DOMAIN)


class UserLocale(I18nMiddleware):
    """The /lang choice, else the user's Telegram language, else English.

    Registered as an inner middleware, so link-free chatter that no handler
    takes never pays for the look-up.
    """

    def __init__(self, i18n: I18n, prefs: LanguagePrefs) -> None:
        super().__init__(i18n)
        self._prefs = prefs

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("event_from_user")
        if user is None:
            return DEFAULT_LOCALE
        locale = await self._prefs.locale(user.id, user.language_code)
        data["lang"] = locale
        return locale
