"""Inline mode: ``@bot <link>`` in any chat answers with the product card.

Taps on cards sent this way come as callback queries with an
``inline_message_id``; the card router takes them like any other tap.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.types import InlineQuery

from bot.cards.inline import InlineAsk, InlineCards
from bot.links.message import collect_items
from bot.links.short_links import ShortLinkResolver


async def on_inline_query(
    query: InlineQuery, inline_cards: InlineCards, resolver: ShortLinkResolver, lang: str
) -> None:
    found = await collect_items(query.query, [], resolver, 1)
    if not found.items:
        await inline_cards.hint(query.id)
        return
    await inline_cards.respond(InlineAsk(query.id, query.from_user.id, lang, found.items[0]))


def create_router() -> Router:
    router = Router(name="inline")
    router.inline_query.register(on_inline_query)
    return router
