"""A private message the other routers left: no item, no command of ours."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import Message

from bot.cards.help_text import no_item_text
from handlers.filters import InPrivate, is_command, message_text


async def on_no_item(message: Message) -> None:
    text = message_text(message)
    # Not an unknown command (not ours to answer), nor a pin or a timer set.
    if text is not None and not is_command(text):
        await message.answer(no_item_text())


def create_router() -> Router:
    router = Router(name="hints")
    router.message.filter(InPrivate())
    router.message.register(on_no_item)
    return router
