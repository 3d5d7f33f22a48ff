"""Taps on product cards: the variant picker and the photo gallery."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.cards.taps import CardTaps
from bot.telegram.callbacks import CardTap


async def on_card_tap(query: CallbackQuery, callback_data: CardTap, card_taps: CardTaps) -> None:
    message = query.message if isinstance(query.message, Message) else None

    async def answer(text: str) -> None:
        await query.answer(text or None)

    await card_taps.tap(message, callback_data, answer)


async def on_unknown_tap(query: CallbackQuery) -> None:
    """Malformed or foreign callback data: answered, nothing changes."""
    await query.answer(_("This button is no longer valid."))


def create_router() -> Router:
    router = Router(name="card")
    router.callback_query.register(on_card_tap, CardTap.filter())
    router.callback_query.register(on_unknown_tap)
    return router
