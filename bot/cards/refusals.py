"""The short message a user gets when a look-up gives no card."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.i18n.formatting import reset_in
from bot.items.item import ItemRef
from bot.lookup.results import Failure, Refused


def store_down_text() -> str:
    return _("The bot is having trouble right now. Please try again in a minute.")


def refusal_text(result: Refused, ref: ItemRef) -> str:
    """One short line; never raw upstream text."""
    match result.kind:
        case Failure.NOT_FOUND:
            return _("Item {id} was not found. It may have been removed.").format(id=ref.item_id)
        case Failure.USER_QUOTA:
            return _("You have used today's look-ups. More in {time} (00:00 UTC).").format(
                time=reset_in(result.reset_seconds)
            )
        case Failure.CHAT_QUOTA:
            return _("This group has used today's look-ups. More in {time} (00:00 UTC).").format(
                time=reset_in(result.reset_seconds)
            )
        case Failure.BUDGET:
            return _("The bot's daily budget is used up. More in {time} (00:00 UTC).").format(
                time=reset_in(result.reset_seconds)
            )
        case Failure.BREAKER_OPEN:
            return _("Product look-ups are temporarily unavailable. Please try again later.")
        case Failure.BUSY:
            return _("The bot is busy right now. Please send the link again in a minute.")
        case Failure.TIMEOUT:
            return _("The marketplace took too long to answer. Please try again.")
        case Failure.STORE_DOWN:
            return store_down_text()
        case _:
            return _("Couldn't load this item right now. Please try again later.")
