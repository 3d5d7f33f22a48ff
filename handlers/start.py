"""/start and /help."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from bot.cards.help_text import help_text
from bot.config import Settings


async def on_help(message: Message, settings: Settings) -> None:
    user_id = message.from_user.id if message.from_user else None
    await message.answer(
        help_text(
            is_admin=settings.is_admin(user_id),
            max_items=settings.max_items_per_message,
            agent_choice=settings.agent_choice_on,
        )
    )


def create_router() -> Router:
    router = Router(name="start")
    router.message.register(on_help, CommandStart())
    router.message.register(on_help, Command("help"))
    return router
