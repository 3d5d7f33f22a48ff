"""/currency: what a chat's cards convert to, at which rate, and choosing another.

In a private chat the choice is the user's; in a group it is the group's and
only its admins change it. A currency nobody gives a rate for is refused with
the list of those that have one: a card never shows a made-up figure.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from aiogram import Bot
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal, get_currency_name
from redis.exceptions import RedisError

from bot.i18n.formatting import babel_locale, format_day, format_number
from bot.money.choices import CurrencyChoices, holder_for
from bot.money.currencies import CNY, COMMON_CURRENCIES, normalize_code
from bot.money.rates import Rate, RateBook, RateSource
from bot.telegram.callbacks import CurrencyPick
from bot.telegram.group_admins import is_group_admin

log = logging.getLogger(__name__)


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


PER_ROW = 4
SIGNIFICANT_DIGITS = 5
CHOSEN_MARK = "✅ "


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asks, where: ``on_behalf_of`` is the chat a message was sent as, if any."""

    chat_id: int
    user_id: int
    is_group: bool
    on_behalf_of: int | None = None


@dataclass(frozen=True, slots=True)
class MenuAnswer:
    """A message's text and keyboard, a tap's toast, and whether the choice changed."""

    text: str
    toast: str
    keyboard: InlineKeyboardMarkup | None = None
    changed: bool = False


class CurrencyMenu:
    """Shows and changes the currency of a user's or a group's cards."""

    def __init__(self, rates: RateBook, choices: CurrencyChoices, bot: Bot) -> None:
        self._rates = rates
        self._choices = choices
        self._bot = bot

    async def show(self, asker: Asker, lang: str) -> MenuAnswer:
        """The current currency, its rate with its date and source, and the keyboard."""
        holder = holder_for(chat_id=asker.chat_id, user_id=asker.user_id, is_group=asker.is_group)
        currency = await self._choices.currency(holder, lang)
        lines = [
            (
                _("This group's cards show prices in: {currency}")
                if asker.is_group
                else _("Your cards show prices in: {currency}")
            ).format(currency=f"<b>{_escape(_currency_name(currency, lang))}</b>"),
            _escape(self._rate_text(currency, lang)),
            "",
            _escape(
                _("Group admins can choose another one below, or send /currency EUR.")
                if asker.is_group
                else _("Choose another one below, or send /currency EUR.")
            ),
        ]
        text = "\n".join(lines)
        return MenuAnswer(text, text, currency_keyboard(currency))

    async def choose(self, asker: Asker, wanted: str, lang: str) -> MenuAnswer:
        """Set the currency ``wanted`` (a code as typed) for the asker's chat."""
        code = normalize_code(wanted[:16])
        if code is None:
            text = _("Unknown currency: {code}. Supported: {codes}.").format(
                code=wanted.strip()[:16], codes=", ".join(self._rates.currencies())
            )
            return MenuAnswer(_escape(text), _("Unknown currency."))
        if self._rates.rate(code) is None:
            text = _("There is no exchange rate for {code} here. Supported: {codes}.").format(
                code=code, codes=", ".join(self._rates.currencies())
            )
            return MenuAnswer(
                _escape(text), _("There is no exchange rate for {code} here.").format(code=code)
            )
        if asker.is_group and not await self._may_change(asker):
            text = _("Only the group's admins can change its currency.")
            return MenuAnswer(_escape(text), text)
        holder = holder_for(chat_id=asker.chat_id, user_id=asker.user_id, is_group=asker.is_group)
        try:
            await self._choices.choose(holder, code)
        except RedisError:
            log.warning("store unreachable: currency choice not saved")
            text = _("Couldn't save the choice just now. Please try again in a minute.")
            return MenuAnswer(_escape(text), text)
        if code == CNY:
            text = _("Cards now show prices in CNY only.")
        else:
            text = _("Cards now show prices in {currency} too.").format(
                currency=_currency_name(code, lang)
            )
        return MenuAnswer(_escape(text), text, changed=True)

    async def _may_change(self, asker: Asker) -> bool:
        """A group's admin: asked of Telegram each time (admins change); an anonymous
        admin writes as the group itself."""
        if asker.on_behalf_of == asker.chat_id:
            return True
        return await is_group_admin(self._bot, asker.chat_id, asker.user_id)

    def _rate_text(self, currency: str, lang: str) -> str:
        rate = self._rates.rate(currency)
        if currency == CNY:
            return _("Prices stay in CNY, as the marketplace gives them: no conversion.")
        if rate is None:
            return _(
                "There is no exchange rate for {code} here, so cards show prices in CNY only."
            ).format(code=currency)
        return describe_rate(rate, lang)


def describe_rate(rate: Rate, lang: str) -> str:
    """``1 CNY = 0.15031 USD · ECB reference rate of Oct 30, 2026 · 2% markup included``."""
    quantum = Decimal(1).scaleb(-_digits(rate.per_cny))
    shown = rate.per_cny.quantize(quantum, rounding=ROUND_HALF_UP).normalize()
    amount = format_decimal(shown, locale=babel_locale(lang), decimal_quantization=False)
    parts = [f"1 CNY = {amount} {rate.currency}"]
    if rate.source is RateSource.OPERATOR:
        parts.append(_("the operator's own rate"))
    elif rate.day is not None:
        parts.append(
            _("European Central Bank reference rate of {day}").format(
                day=format_day(rate.day, lang)
            )
        )
    if rate.markup_percent:
        markup = format_number(rate.markup_percent, 2, lang)
        parts.append(_("{percent}% markup included").format(percent=markup))
    return " · ".join(parts)


def _digits(value: Decimal) -> int:
    """Fraction digits that show ``value`` to about five significant digits."""
    return max(0, SIGNIFICANT_DIGITS - 1 - value.adjusted())


def _currency_name(code: str, lang: str) -> str:
    name = str(get_currency_name(code, locale=babel_locale(lang)))
    return f"{name} ({code})" if name != code else code


def currency_keyboard(current: str) -> InlineKeyboardMarkup:
    """The common currencies four a row, then CNY for none; the current one marked."""

    def button(code: str, label: str) -> InlineKeyboardButton:
        mark = CHOSEN_MARK if code == current else ""
        return InlineKeyboardButton(text=mark + label, callback_data=CurrencyPick(code=code).pack())

    buttons = [button(code, code) for code in COMMON_CURRENCIES]
    rows = [buttons[i : i + PER_ROW] for i in range(0, len(buttons), PER_ROW)]
    rows.append([button(CNY, _("CNY: no conversion"))])
    return InlineKeyboardMarkup(inline_keyboard=rows)
