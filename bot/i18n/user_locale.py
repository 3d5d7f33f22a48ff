"""Interface languages: the compiled gettext catalogs and the middleware that
picks the user's locale for each handled update.

The catalogs are package data, ``bot/i18n/locales/<lang>/LC_MESSAGES/messages.mo``:
the build compiles them from the repo's ``locales/*.po`` into a wheel, and an
editable install compiles them in place, so the bot finds them from any
working directory however it was installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware

from bot.i18n.language import DEFAULT_LOCALE, SUPPORTED_LOCALES, LanguagePrefs

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"


class MissingCatalogs(RuntimeError):
    """A supported language has no compiled catalog: the package was not built."""


def create_i18n(path: Path = LOCALES_DIR) -> I18n:
    """The catalogs under ``path``; every supported language must have one.

    A language without its ``.mo`` would silently speak English, so a bot run
    from an unbuilt source tree refuses to start instead.
    """
    missing = [lang for lang in SUPPORTED_LOCALES if not _catalog(path, lang).is_file()]
    if missing:
        raise MissingCatalogs(
            f"no compiled catalog for {', '.join(missing)} under {path}: install the package "
            "(pip install . or pip install -e .), which compiles locales/*.po"
        )
    return I18n(path=path, default_locale=DEFAULT_LOCALE, domain=DOMAIN)


def _catalog(path: Path, lang: str) -> Path:
    return path / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"


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
