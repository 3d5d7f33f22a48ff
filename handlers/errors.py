"""The last resort: an unexpected error gets a short apology, never a traceback."""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n.language import LanguagePrefs

log = logging.getLogger(__name__)


async def on_error(event: ErrorEvent, i18n: I18n, prefs: LanguagePrefs) -> None:
    """Registered on the Dispatcher itself, so chatter never passes an extra router."""
    update = event.update
    log.error(
        "update %s failed: %s",
        update.update_id,
        type(event.exception).__name__,
        exc_info=event.exception,
    )
    event_user = update.message or update.callback_query
    user = event_user.from_user if event_user else None
    # Error handlers run outside the locale middleware: the user's /lang choice
    # (remembered in this process while the store is down), else Telegram's hint.
    lang = await prefs.locale(user.id if user else None, user.language_code if user else None)
    with i18n.context(), i18n.use_locale(lang):
        text = _("Something went wrong on our side. Please try again in a minute.")
    try:
        if update.message is not None:
            await update.message.reply(text)
        elif update.callback_query is not None:
            await update.callback_query.answer(text)
    except TelegramAPIError:
        log.warning("could not tell the user about the failure")
