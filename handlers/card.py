"""Taps on product cards: the variant picker and the photo gallery.

A card sent through inline mode has no chat message: its taps carry an
``inline_message_id``, checked against the card it was sent with.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from redis.exceptions import RedisError

from bot.cards.inline import Forged, InlineCards
from bot.cards.refusals import store_down_text
from bot.cards.sending import InlineMessage
from bot.cards.taps import CardTaps, invalid_tap_text
from bot.telegram.callbacks import CardTap


async def on_card_tap(
    query: CallbackQuery, callback_data: CardTap, card_taps: CardTaps, inline_cards: InlineCards
) -> None:
    async def answer(text: str) -> None:
        await query.answer(text or None)

    message: Message | InlineMessage | None = (
        query.message if isinstance(query.message, Message) else None
    )
    if query.inline_message_id is not None:
        try:
            shown = await inline_cards.tapped(query.inline_message_id, callback_data.token)
        except RedisError:
            await answer(store_down_text())
            return
        if isinstance(shown, Forged):
            await answer(invalid_tap_text())
            return
        message = shown
    await card_taps.tap(message, callback_data, answer)


async def on_unknown_tap(query: CallbackQuery) -> None:
    """Malformed or foreign callback data: answered, nothing changes."""
    await query.answer(_("This button is no longer valid."))


def create_router() -> Router:
    router = Router(name="card")
    router.callback_query.register(on_card_tap, CardTap.filter())
    router.callback_query.register(on_unknown_tap)
    return router
