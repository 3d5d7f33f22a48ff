"""The free link card: what a shopper gets, at no upstream cost, when no details can
be had (a quota, the budget, the breaker, a slow upstream): the item's name on
its marketplace, the way to open and buy it, and why details are missing."""

from __future__ import annotations

import html
from urllib.parse import quote

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.cards.buttons import link_button
from bot.cards.rendering import PLATFORM_NAMES, CardView
from bot.items.item import ItemRef


def free_card(ref: ItemRef, reason: str | None, *, buy_url_template: str | None) -> CardView:
    """The text card for ``ref``; ``reason`` None: the details are on their way."""
    marketplace = PLATFORM_NAMES[ref.platform]
    why = reason if reason is not None else _("Details are on the way: ask again in a moment.")
    lines = [f"<b>{html.escape(marketplace)}</b> · {html.escape(ref.item_id)}", html.escape(why)]
    links = [
        link_button(_("Open on {marketplace}").format(marketplace=marketplace), ref.canonical_url)
    ]
    if buy_url_template:
        links.append(link_button(_("🛒 Buy through us"), _buy_url(buy_url_template, ref)))
    return CardView(
        photo=None, caption="\n".join(lines), keyboard=InlineKeyboardMarkup(inline_keyboard=[links])
    )


def _buy_url(template: str, ref: ItemRef) -> str:
    return template.format(
        url=quote(ref.canonical_url, safe=""), platform=ref.platform.value, id=ref.item_id
    )
