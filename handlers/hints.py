"""A private message the other routers left: no item, no command of ours."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import Message

from bot.help_text import no_item_text
from handlers.filters import InPrivate, is_command, message_text


def create_router() -> Router:
    router = Router(name="hints")
    router.message.filter(InPrivate())

    @router.message()
    async def on_no_item(message: Message) -> None:
        if not is_command(message_text(message)):  # an unknown command: not ours to answer
            await message.answer(no_item_text())

    return router
