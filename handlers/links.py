"""Messages that hold marketplace links: each item becomes a card."""

from __future__ import annotations

from aiogram import Router
from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.types import Message, MessageEntity

from bot.card_service import CardService, Paste
from bot.config import Settings
from bot.links import LinkEntity, collect_items, might_hold_link
from bot.shortlinks import ShortLinkResolver
from handlers.filters import message_text

_LINK_TYPES = frozenset({"url", "text_link"})


def _entities(message: Message) -> list[MessageEntity]:
    return message.entities or message.caption_entities or []


class HoldsLink(Filter):
    """Cheap async pre-check run on every message (chatter must stay cheap)."""

    async def __call__(self, message: Message) -> bool:
        text = message_text(message)
        if not text or text.startswith("/"):  # commands are the command routers'
            return False
        if any(e.type in _LINK_TYPES for e in _entities(message)):
            return True
        return might_hold_link(text, ())


def create_router() -> Router:
    router = Router(name="links")

    @router.message(HoldsLink())
    async def on_link(
        message: Message,
        card_service: CardService,
        resolver: ShortLinkResolver,
        settings: Settings,
        lang: str,
    ) -> None:
        entities = [LinkEntity(e.type, e.offset, e.length, e.url) for e in _entities(message)]
        text = message_text(message)
        items = await collect_items(text, entities, resolver, settings.max_items_per_message)
        is_group = message.chat.type != ChatType.PRIVATE
        if not items.items and not items.skipped and (is_group or not items.unresolved):
            return  # chatter, a lookalike, a shop page: silence
        user_id = message.from_user.id if message.from_user else message.chat.id
        paste = Paste(message.chat.id, is_group, user_id, message.message_id, lang, items)
        await card_service.answer(paste)

    return router
