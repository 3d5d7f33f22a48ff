"""The short message a user gets when a look-up gives no card."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.items.item import ItemRef
from bot.lookup.results import Failure, Refused


def store_down_text() -> str:
    return _("The bot is having trouble right now. Please try again in a minute.")


def refusal_text(result: Refused, ref: ItemRef) -> str:
    """One short line; never raw upstream text. Quota, budget, breaker and busy
    refusals get the free link card instead (``bot.cards.free_card``)."""
    match result.kind:
        case Failure.NOT_FOUND:
            return _("Item {id} was not found. It may have been removed.").format(id=ref.item_id)
        case Failure.TIMEOUT:
            return _("The marketplace took too long to answer. Please try again.")
        case Failure.STORE_DOWN:
            return store_down_text()
        case _:
            return _("Couldn't load this item right now. Please try again later.")
