"""The free link card: what a refused paid look-up still gets.

Over a quota or the budget, with the breaker open or the queue too long, no
upstream call is made, but the shopper still gets the item's marketplace and
id, its marketplace button and the buy/agent buttons, and one line saying why
the details are missing and when they come back. Costs nothing: it is built
from the pasted link alone.

``free_card`` is a pure function (item, reason, the chat's agent, the
operator's links, language → text and keyboard), for pastes and inline
answers alike.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.cards.buy_links import PLATFORM_NAMES, BuyOptions, agent_rows, bottom_rows
from bot.i18n.formatting import duration, reset_in
from bot.items.item import ItemRef
from bot.lookup.service import Failure, Refused

# The refusals that cost the shopper nothing but the details: they get a free card.
FREE_KINDS = frozenset(
    {Failure.USER_QUOTA, Failure.CHAT_QUOTA, Failure.BUDGET, Failure.BREAKER_OPEN, Failure.BUSY}
)
# Popular agents a free card offers besides the chat's own.
OTHER_AGENTS_SHOWN = 4


@dataclass(frozen=True)
class FreeCard:
    """A text card: HTML ``text`` and its ``keyboard`` of URL buttons."""

    text: str
    keyboard: InlineKeyboardMarkup


def is_free(refusal: Refused) -> bool:
    """Whether this refusal gets a free link card rather than a bare note."""
    return refusal.kind in FREE_KINDS


def free_card(
    ref: ItemRef,
    refusal: Refused,
    *,
    agent: str | None,
    buy: BuyOptions,
    lang: str,
    breaker_cooldown: int = 300,
    reason: str | None = None,
) -> FreeCard:
    """The free link card for ``ref``, refused for ``refusal``, in ``lang``.

    ``agent``: the chat's chosen agent (its button comes first among the
    agents); ``breaker_cooldown``: how long paid calls pause after the breaker
    opened, the longest the shopper waits for details then; ``reason``: the
    line to show instead of the refusal's own.
    """
    i18n = I18n.get_current(no_error=True)
    with i18n.use_locale(lang) if i18n is not None else nullcontext():
        heading = _("{marketplace} item {id}").format(
            marketplace=PLATFORM_NAMES[ref.platform], id=ref.item_id
        )
        why = reason if reason is not None else free_reason(refusal, breaker_cooldown)
        text = f"🔗 <b>{heading}</b>\nℹ️ {why}"
        rows = bottom_rows(ref, buy, agent)
        if buy.agent_choice:
            rows.extend(agent_rows(ref, buy, agent, limit=OTHER_AGENTS_SHOWN))
    return FreeCard(text=text, keyboard=InlineKeyboardMarkup(inline_keyboard=rows))


def free_reason(refusal: Refused, breaker_cooldown: int) -> str:
    """One line: why the card has no details, and when they come back."""
    match refusal.kind:
        case Failure.USER_QUOTA:
            return _(
                "Your look-ups for today are used up: photo, price and variants again "
                "in {time} (00:00 UTC)."
            ).format(time=reset_in(refusal.reset_seconds))
        case Failure.CHAT_QUOTA:
            return _(
                "This group's look-ups for today are used up: photo, price and variants "
                "again in {time} (00:00 UTC)."
            ).format(time=reset_in(refusal.reset_seconds))
        case Failure.BUDGET:
            return _(
                "The bot's daily budget is used up: photo, price and variants again "
                "in {time} (00:00 UTC)."
            ).format(time=reset_in(refusal.reset_seconds))
        case Failure.BREAKER_OPEN:
            return _(
                "Product details are temporarily unavailable: paste the link again in {time}."
            ).format(time=duration(breaker_cooldown))
        case Failure.TIMEOUT:  # inline mode: the look-up goes on and fills the cache
            return _("Details are on the way: ask again in a moment.")
        case _:
            return _("The bot is busy: paste the link again in a minute for the details.")
