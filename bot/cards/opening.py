"""A new card's first state: the item as found, the SKU the link named chosen."""

from __future__ import annotations

from bot.cards.picker import VariantPicker
from bot.cards.picker_view import page_of
from bot.cards.rendering import MAX_BUTTONS, OWN_BUTTONS, VARIANT_PHOTO
from bot.cards.state import CardState
from bot.items.item import Item, ItemRef


def open_card(
    ref: ItemRef, item: Item, lang: str, agent: str | None = None
) -> tuple[CardState, VariantPicker]:
    """The state of a card about to be sent, and the item's picker (built once);
    ``agent``: the shopping agent chosen where it is sent."""
    picker = VariantPicker(item)
    choice = picker.empty_choice()
    if ref.sku_id:
        choice = picker.choice_for_sku(ref.sku_id) or choice
    state = CardState(
        item=item,
        lang=lang,
        choice=choice,
        pages=page_of(picker, choice, max_buttons=MAX_BUTTONS - OWN_BUTTONS),
        photo=VARIANT_PHOTO if picker.summary(choice).image else 0,
        source_url=ref.canonical_url,
        agent=agent,
    )
    return state, picker
