"""/lang: the user picks the interface language."""

from __future__ import annotations

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.cards.sending import is_not_modified
from bot.i18n.language import LANGUAGE_NAMES, SUPPORTED_LOCALES, LanguagePrefs
from bot.telegram.callbacks import LangPick
from handlers.filters import in_private


def language_keyboard(current: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            text=("✅ " if code == current else "") + LANGUAGE_NAMES[code],
            callback_data=LangPick(code=code).pack(),
        )
        for code in SUPPORTED_LOCALES
    ]
    return InlineKeyboardMarkup(inline_keyboard=[buttons[:2], buttons[2:]])


async def on_lang(message: Message, lang: str) -> None:
    await message.answer(_("Choose your language:"), reply_markup=language_keyboard(lang))


async def on_pick(
    query: CallbackQuery, callback_data: LangPick, prefs: LanguagePrefs, i18n: I18n
) -> None:
    if not await prefs.set(query.from_user.id, callback_data.code):
        await query.answer(_("This button is no longer valid."))
        return
    with i18n.use_locale(callback_data.code):
        text = _("Language set: {language}").format(language=LANGUAGE_NAMES[callback_data.code])
    await query.answer(text)
    message = query.message
    # In a group the keyboard stays for the others who may want it.
    if isinstance(message, Message) and in_private(message):
        try:
            await message.edit_text(text, reply_markup=None)
        except TelegramBadRequest as error:  # a second tap before the first edit showed
            if not is_not_modified(error):
                raise


def create_router() -> Router:
    router = Router(name="lang")
    router.message.register(on_lang, Command("lang"))
    router.callback_query.register(on_pick, LangPick.filter())
    return router
