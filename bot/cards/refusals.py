"""The short message a user gets when a look-up gives no card."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.balance.breaker import BreakerReason
from bot.i18n.formatting import format_count
from bot.items.item import ItemRef
from bot.lookup.service import Failure, Refused


def duration(seconds: int) -> str:
    """'45 s', '1 min 30 s', '5 min', '5 h 12 min': never rounded to a minute it is not."""
    total = max(int(seconds), 0)
    if total < 60:
        return _("{seconds} s").format(seconds=total)
    hours, rest = divmod(total, 3600)
    minutes, seconds_left = divmod(rest, 60)
    if hours:
        return _("{hours} h {minutes} min").format(hours=hours, minutes=minutes)
    if seconds_left:
        return _("{minutes} min {seconds} s").format(minutes=minutes, seconds=seconds_left)
    return _("{minutes} min").format(minutes=minutes)


def reset_in(seconds: int | None) -> str:
    """How long until the UTC day resets: '5 h 12 min', '3 min', '40 s'."""
    total = max(int(seconds or 0), 1)
    # Past a minute, whole minutes: a reset a few seconds off reads better so.
    return duration(total if total < 60 else total - total % 60)


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


def breaker_notice(reason: BreakerReason | None, cooldown_seconds: int) -> str:
    """For admins, in private: why paid calls stopped, for how long, and what to do."""
    paused = duration(cooldown_seconds)
    if reason is BreakerReason.AUTH:
        return _(
            "⚠️ CatBuy refused the API key (401). Paid calls are paused for {duration}. "
            "Check CATBUY_API_KEY."
        ).format(duration=paused)
    return _(
        "⚠️ The CatBuy balance is too low (402). Paid calls are paused for {duration}. "
        "Top up the balance in the CatBuy portal."
    ).format(duration=paused)


def budget_notice(budget: int) -> str:
    return _(
        "⚠️ Today's look-up budget ({budget}) is used up. Look-ups resume at 00:00 UTC; "
        "raise DAILY_BUDGET_REQUESTS to allow more."
    ).format(budget=format_count(budget))
