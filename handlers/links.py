"""Messages that hold marketplace links: each item becomes a card."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import Message

from bot.cards.service import CardService, Paste
from bot.config import Settings
from bot.links.message import LinkEntity, collect_items
from bot.links.short_links import ShortLinkResolver
from handlers.filters import (
    HoldsLink,
    in_private,
    message_entities,
    message_text,
    quota_holder,
)


async def on_link(
    message: Message,
    card_service: CardService,
    resolver: ShortLinkResolver,
    settings: Settings,
    lang: str,
) -> None:
    entities = [LinkEntity(e.type, e.offset, e.length, e.url) for e in message_entities(message)]
    text = message_text(message)
    items = await collect_items(text, entities, resolver, settings.max_items_per_message)
    is_group = not in_private(message)
    user_id = quota_holder(message)
    topic = message.message_thread_id if message.is_topic_message else None
    paste = Paste(
        message.chat.id,
        is_group,
        user_id,
        message.message_id,
        lang,
        items,
        topic,
        chat_title=message.chat.title,
    )
    await card_service.answer(paste)


def create_router() -> Router:
    router = Router(name="links")
    router.message.register(on_link, HoldsLink())
    return router
