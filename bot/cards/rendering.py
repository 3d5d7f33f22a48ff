"""Presentation of a product card: item + card state → photo, caption, keyboard.

Pure functions of state. Speaks aiogram types and gettext, nothing else of
Telegram: sending lives in ``bot.cards.sending``.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from decimal import Decimal

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.cards.buttons import tap_button
from bot.cards.buy_links import BOTTOM_BUTTONS, PLATFORM_NAMES, BuyOptions, card_link_rows
from bot.cards.picker import VariantPicker
from bot.cards.picker_view import format_price, picker_caption_lines, picker_rows
from bot.cards.prices import CardPricing, PriceWriter
from bot.cards.state import CardState
from bot.i18n.formatting import format_count, format_number
from bot.items.item import Item, ItemRef
from bot.telegram.callbacks import CardAct, card_tap

CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096
MAX_BUTTONS = 100
# Our own rows: gallery (3), and the links at the bottom (marketplace,
# operator's buy button, the chosen agent, "Other agents").
OWN_BUTTONS = 3 + BOTTOM_BUTTONS
VARIANT_PHOTO = -1  # CardState.photo value: show the chosen option's image
MAX_ATTRIBUTES = 3
# The title keeps at least this many UTF-16 units of the caption (or all of it).
TITLE_ROOM = 80
_TAG = re.compile(r"<[^>]*>")
_DAYS = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,2})?")

__all__ = ["PLATFORM_NAMES", "CardView", "render_card"]


@dataclass(frozen=True)
class CardView:
    """What a card shows: ``photo`` is None for a text card."""

    photo: str | None
    caption: str
    keyboard: InlineKeyboardMarkup


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def plain_text(markup: str) -> str:
    """The text Telegram shows for ``markup``: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", markup))


def visible_length(markup: str) -> int:
    """Length as Telegram counts it: UTF-16 units of the text after entity parsing."""
    return _utf16_length(plain_text(markup))


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def card_photo(state: CardState, picker: VariantPicker) -> str | None:
    """The photo shown: the chosen option's image, else the gallery's current one."""
    images = state.item.images
    if state.photo == VARIANT_PHOTO:
        image = picker.summary(state.choice).image
        if image:
            return image
        return images[0] if images else None
    if not images:
        return None
    return images[min(max(state.photo, 0), len(images) - 1)]


def render_card(
    state: CardState,
    token: str,
    *,
    buy_url_template: str | None,
    limit: int = CAPTION_LIMIT,
    picker: VariantPicker | None = None,
    buy: BuyOptions | None = None,
    pricing: CardPricing | None = None,
) -> CardView:
    """The whole card for ``state``; the caption always fits ``limit``.

    ``picker``, the picker of ``state.item`` when the caller has built it already.
    ``buy``: the operator's link settings; without them, ``buy_url_template`` alone.
    ``pricing``, how prices are converted (None: CNY only).
    """
    if picker is None:
        picker = VariantPicker(state.item)
    photo = card_photo(state, picker)
    prices = pricing.writer(state.currency, state.lang) if pricing else None
    caption = render_caption(state, picker, limit=limit if photo else TEXT_LIMIT, prices=prices)
    if buy is None:
        buy = BuyOptions(template=buy_url_template)
    keyboard = render_keyboard(state, picker, token, buy=buy)
    return CardView(photo=photo, caption=caption, keyboard=keyboard)


def render_caption(
    state: CardState, picker: VariantPicker, *, limit: int, prices: PriceWriter | None = None
) -> str:
    """Title first (in full when it fits), then price, facts, the picker's lines and
    the cost to the door; lines go from the end while the caption would not fit."""
    item = state.item
    prices = prices or PriceWriter(None, state.lang)
    tail = [*_price_lines(item, prices), *_fact_lines(item)]
    if picker.has_variants:
        tail.extend(picker_caption_lines(picker, state.choice, prices.converted))
    landed = _landed_line(state, picker, prices)
    if landed:
        tail.append(landed)
    body = "\n".join(tail)
    body_length = visible_length(body)
    title = item.title or _("Untitled item")
    title_room = min(TITLE_ROOM, _utf16_length(title))
    while tail and body_length + 2 + title_room > limit:  # never with the picker's capped lines
        tail.pop()
        body = "\n".join(tail)
        body_length = visible_length(body)
    room = limit - body_length - 2  # two newlines between title and body
    title = _fit(title, room)
    heading = f"<b>{_escape(title)}</b>"  # shows as the title itself
    caption = f"{heading}\n\n{body}" if body else heading
    length = _utf16_length(title) + (2 + body_length if body else 0)
    extra = _attribute_line(item, picker)  # only where the full card leaves room
    if extra and length + 1 + visible_length(extra) <= limit:
        caption = f"{caption}\n{extra}"
    return caption


def _attribute_line(item: Item, picker: VariantPicker) -> str | None:
    """A few of the seller's attributes (condition, brand, material), not the variants'."""
    variant_names = {dimension.name for dimension in picker.dimensions}
    shown = [
        f"{name[:20]}: {value[:40]}"
        for name, value in item.attributes
        if name and value and name not in variant_names
    ][:MAX_ATTRIBUTES]
    return "ℹ️ " + _escape(" · ".join(shown)) if shown else None


def _fit(text: str, room: int) -> str:
    """``text`` in full when it fits ``room`` UTF-16 units, else cut and marked "…"."""
    if _utf16_length(text) <= room:
        return text
    if room <= 1:
        return "…"
    cut = text[: room - 1]
    while _utf16_length(cut) > room - 1:  # astral characters take two units
        cut = cut[:-1]
    return cut.rstrip() + "…"


def _landed_line(state: CardState, picker: VariantPicker, prices: PriceWriter) -> str | None:
    """The cost to the door of what the choice still allows: the chosen SKU (its own
    weight when it has one), else the range left, else the item's price."""
    item = state.item
    price, weight = item.price, item.weight_grams
    if picker.has_variants and picker.validate(state.choice):
        summary = picker.summary(state.choice)
        if summary.chosen and summary.price is not None:
            price = summary.price
        if summary.sku is not None and summary.sku.weight_grams:
            weight = summary.sku.weight_grams
    if price is None:
        return None
    line = prices.landed(price.low, price.high, weight)
    return _escape(line) if line else None


def _price_lines(item: Item, prices: PriceWriter) -> list[str]:
    if item.price is None:
        return [_("Price: not given")]
    price = format_price(item.price.low, item.price.high)
    line = f"💴 <b>{_escape(price)}</b>{_escape(prices.converted(item.price.low, item.price.high))}"
    if item.original_price is not None and item.original_price > item.price.high:
        line += f"  <s>{_escape(prices.price(item.original_price))}</s>"
    lines = [line]
    if item.price_tiers:
        tiers = " · ".join(
            _("from {count}: {price}").format(
                count=format_count(tier.min_quantity), price=prices.price(tier.price)
            )
            for tier in item.price_tiers[:4]
        )
        lines.append(_escape(tiers))
    if item.min_order and item.min_order > 1:
        unit = f" {item.unit}" if item.unit else ""
        lines.append(
            _escape(
                _("Minimum order: {count}").format(count=f"{format_count(item.min_order)}{unit}")
            )
        )
    return lines


def _fact_lines(item: Item) -> list[str]:
    where = [PLATFORM_NAMES[item.platform]]
    if item.shop:
        where.append(_("shop {name}").format(name=item.shop[:60]))
    if item.location:
        where.append(item.location[:40])
    lines = ["🏷 " + _escape(" · ".join(where))]
    facts: list[str] = []
    if item.sales is not None and item.sales > 0:
        facts.append(_("sold {count}").format(count=format_count(item.sales)))
    if item.weight_grams is not None and item.weight_grams > 0:
        facts.append(_("weight {weight}").format(weight=_format_weight(item.weight_grams)))
    if item.delivery_time:
        facts.append(_shipping(item.delivery_time))
    if facts:
        lines.append("📦 " + _escape(" · ".join(facts)))
    return lines


def _shipping(delivery_time: str) -> str:
    """ "ships in 3 days" when the upstream gives a plain number (days), else its words.

    Plain: up to three digits. Decimal("1e999999999") is a number too, and
    rounding it would hold the event loop (every chat) for good.
    """
    days = Decimal(delivery_time) if _DAYS.fullmatch(delivery_time) else None
    if days is None or days <= 0:
        return _("ships in {time}").format(time=delivery_time[:30])
    return ngettext("ships in {days} day", "ships in {days} days", math.ceil(days)).format(
        days=format_number(days, 1)
    )


def _format_weight(grams: Decimal) -> str:
    if grams >= 1000:
        return _("{weight} kg").format(weight=format_number(grams / 1000, 2))
    digits = 0 if grams >= 10 else 2  # a small weight must not read "0 g"
    return _("{weight} g").format(weight=format_number(grams, digits))


def render_keyboard(
    state: CardState, picker: VariantPicker, token: str, *, buy: BuyOptions
) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if picker.has_variants:
        rows.extend(
            picker_rows(
                picker, state.choice, state.pages, token, max_buttons=MAX_BUTTONS - OWN_BUTTONS
            )
        )
    rows.extend(_gallery_rows(state, token))
    room = MAX_BUTTONS - sum(len(row) for row in rows)
    links = card_link_rows(
        chosen_ref(state, picker),
        buy,
        agent=state.agent,
        others=state.others,
        token=token,
        room=room,
    )
    rows.extend(links)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def chosen_ref(state: CardState, picker: VariantPicker) -> ItemRef:
    """The card's item, naming the SKU once every picker dimension is chosen."""
    item = state.item
    sku = picker.summary(state.choice).sku if picker.is_complete(state.choice) else None
    return ItemRef(platform=item.platform, item_id=item.item_id, sku_id=sku.sku_id if sku else None)


def _gallery_rows(state: CardState, token: str) -> list[list[InlineKeyboardButton]]:
    count = len(state.item.images)
    if count < 2:
        return []
    if state.photo == VARIANT_PHOTO:  # the chosen option's photo, before the gallery's
        label, back, forward = "🎨", count - 1, 0
    else:
        index = min(max(state.photo, 0), count - 1)
        label, back, forward = f"{index + 1}/{count}", (index - 1) % count, (index + 1) % count

    def tap(opt: int) -> str:
        return card_tap(token, CardAct.GALLERY, opt=opt)

    return [
        [
            tap_button("◀", tap(back)),
            tap_button(label, card_tap(token, CardAct.NOOP)),
            tap_button("▶", tap(forward)),
        ]
    ]
