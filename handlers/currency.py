"""/currency: the currency cards convert prices to, for a user or a group."""

from __future__ import annotations

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.cards.currency_menu import Asker, CurrencyMenu
from bot.cards.sending import is_not_modified
from bot.telegram.callbacks import CurrencyPick
from handlers.filters import in_private


async def on_currency(
    message: Message, command: CommandObject, currency_menu: CurrencyMenu, lang: str
) -> None:
    """``/currency`` shows the current one and a keyboard; ``/currency EUR`` sets it."""
    user_id = message.from_user.id if message.from_user else message.chat.id
    on_behalf_of = message.sender_chat.id if message.sender_chat else None
    asker = Asker(message.chat.id, user_id, not in_private(message), on_behalf_of)
    if command.args and command.args.strip():
        answer = await currency_menu.choose(asker, command.args, lang)
    else:
        answer = await currency_menu.show(asker, lang)
    await message.answer(answer.text, reply_markup=answer.keyboard)


async def on_currency_pick(
    query: CallbackQuery, callback_data: CurrencyPick, currency_menu: CurrencyMenu, lang: str
) -> None:
    """A tap on the /currency keyboard: set, then redraw the menu with the new mark."""
    message = query.message if isinstance(query.message, Message) else None
    if message is None:
        await query.answer()
        return
    asker = Asker(message.chat.id, query.from_user.id, not in_private(message))
    answer = await currency_menu.choose(asker, callback_data.code, lang)
    await query.answer(answer.toast)
    if answer.changed:
        menu = await currency_menu.show(asker, lang)
        try:
            await message.edit_text(menu.text, reply_markup=menu.keyboard)
        except TelegramBadRequest as error:  # a second tap before the first edit showed
            if not is_not_modified(error):
                raise


def create_router() -> Router:
    router = Router(name="currency")
    router.message.register(on_currency, Command("currency"))
    router.callback_query.register(on_currency_pick, CurrencyPick.filter())
    return router
