"""A card's prices in CNY with the converted figure beside them, and the cost to the door.

``¥89.00 (≈ $12.37)``, ``¥89.00 – 109.00 (≈ 1 148 – 1 406 ₽)``: the CNY figure
always stays; the converted one is written as the card's language writes
money (Babel: the currency's symbol, digit grouping, where the symbol goes).
A card whose currency has no rate, or is CNY, shows CNY alone.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from aiogram.utils.i18n import gettext as _
from babel.numbers import NumberPattern

from bot.cards.picker_view import format_price
from bot.i18n.formatting import babel_locale, format_number
from bot.money.choices import CurrencyChoices
from bot.money.conversion import CENT, LandedCost, Shipping, convert, landed_cost
from bot.money.currencies import display_digits
from bot.money.rates import Rate, RateBook

# Babel writes "RUB1,148" in English; CLDR asks for a space between letters and digits.
_LETTERS_THEN_DIGIT = re.compile(r"^([^\W\d]{2,})(?=\d)")
_DIGIT_THEN_LETTERS = re.compile(r"(?<=\d)([^\W\d]{2,})$")


@dataclass(frozen=True)
class CardPricing:
    """How cards show money: the rates, whose currency, and the operator's shipping terms."""

    rates: RateBook
    choices: CurrencyChoices
    shipping: Shipping | None = None

    def writer(self, currency: str | None, lang: str) -> PriceWriter:
        """The price writer of a card in ``currency`` (None: by ``lang``) and ``lang``."""
        code = currency or self.choices.fallback(lang)
        return PriceWriter(self.rates.rate(code), lang, self.shipping)


class PriceWriter:
    """Writes one card's prices: CNY, plus the converted figure when the card converts."""

    def __init__(self, rate: Rate | None, lang: str, shipping: Shipping | None = None) -> None:
        self._rate = rate if rate is not None and rate.converts else None
        self._lang = lang
        self._shipping = shipping

    def converted(self, low: Decimal, high: Decimal | None = None) -> str:
        """`` (≈ $12.37)`` for a price (or range) in CNY; "" when the card does not convert."""
        if self._rate is None:
            return ""
        return f" (≈ {self._money(low, high)})"

    def price(self, low: Decimal, high: Decimal | None = None) -> str:
        """``¥89.00 (≈ $12.37)``: CNY, then the converted figure."""
        return format_price(low, high) + self.converted(low, high)

    def landed(self, low: Decimal, high: Decimal, weight_grams: Decimal | None) -> str | None:
        """The "to your door" line (not escaped), or None without shipping terms or weight."""
        cost = landed_cost(low, high, weight_grams, self._shipping)
        if cost is None:
            return None
        cny = format_price(_cents(cost.low), _cents(cost.high))
        includes = self._includes(cost)
        if self._rate is None:
            text = _("To your door ≈ {cny} ({includes})").format(cny=cny, includes=includes)
        else:
            text = _("To your door ≈ {converted} ({cny}: {includes})").format(
                converted=self._money(cost.low, cost.high), cny=cny, includes=includes
            )
        return "🚚 " + text

    def _includes(self, cost: LandedCost) -> str:
        weight = _("{weight} kg").format(weight=_kilograms(cost.weight_kg, self._lang))
        if cost.fee_percent:
            fee = _format_percent(cost.fee_percent, self._lang)
            return _("item + {fee} fee + {weight} shipping").format(fee=fee, weight=weight)
        return _("item + {weight} shipping").format(weight=weight)

    def _money(self, low: Decimal, high: Decimal | None) -> str:
        assert self._rate is not None
        rate, lang = self._rate, self._lang
        first = convert(low, rate)
        last = convert(high, rate) if high is not None else first
        if last == first:
            return format_money(first, rate.currency, lang)
        return format_money_range(first, last, rate.currency, lang)


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(amount: Decimal, currency: str, lang: str) -> str:
    """``$12.37``, ``1 148 ₽``, ``12,37 US$``: an amount already rounded for its currency."""
    layout = _money_layout(lang, currency, display_digits(currency))
    return layout.write(amount) if layout else _babel_money(amount, currency, lang)


def format_money_range(low: Decimal, high: Decimal, currency: str, lang: str) -> str:
    """``$12.37 – 15.15``, ``1 148 – 1 406 ₽``: the symbol written once."""
    layout = _money_layout(lang, currency, display_digits(currency))
    if layout is None:
        return f"{format_money(low, currency, lang)} – {format_money(high, currency, lang)}"
    if layout.suffix and not layout.prefix:  # "1 148 ₽"
        return f"{layout.number(low)} – {layout.write(high)}"
    if layout.prefix and not layout.suffix:  # "$12.37"
        return f"{layout.write(low)} – {layout.number(high)}"
    return f"{layout.write(low)} – {layout.write(high)}"


@dataclass(frozen=True, slots=True)
class _MoneyLayout:
    """How a language writes amounts of one currency, learnt once from Babel.

    Babel's pattern machinery costs ~40 µs an amount, and a card writes up to
    ten; what it writes for a sample amount gives the symbol's place and the
    separators, and plain string formatting does the rest in ~2 µs.
    """

    prefix: str
    suffix: str
    group: str
    decimal: str
    digits: int

    def number(self, amount: Decimal) -> str:
        text = f"{amount:,.{self.digits}f}"
        return text.replace(",", "\0").replace(".", self.decimal).replace("\0", self.group)

    def write(self, amount: Decimal) -> str:
        return f"{self.prefix}{self.number(amount)}{self.suffix}"


_SAMPLE = re.compile(r"1(?P<group>\D*)234(?P=group)567(?:(?P<decimal>\D+)89)?")


@lru_cache(maxsize=256)
def _money_layout(lang: str, currency: str, digits: int) -> _MoneyLayout | None:
    """The layout, or None when Babel's sample does not read plainly (then Babel writes)."""
    sample = _babel_money(Decimal("1234567.89" if digits else "1234567"), currency, lang)
    found = _SAMPLE.search(sample)
    if found is None or (digits > 0) != bool(found["decimal"]):
        return None
    return _MoneyLayout(
        prefix=sample[: found.start()],
        suffix=sample[found.end() :],
        group=found["group"],
        decimal=found["decimal"] or ".",
        digits=digits,
    )


def _babel_money(amount: Decimal, currency: str, lang: str) -> str:
    """Babel's own writing of ``amount``, letters spaced from digits as CLDR asks."""
    text = _currency_pattern(lang, display_digits(currency)).apply(
        amount, babel_locale(lang), currency=currency, currency_digits=False
    )
    text = _LETTERS_THEN_DIGIT.sub("\\1\xa0", text)
    return str(_DIGIT_THEN_LETTERS.sub("\xa0\\1", text))


@lru_cache(maxsize=64)
def _currency_pattern(lang: str, digits: int) -> NumberPattern:
    """The locale's currency pattern with exactly ``digits`` fraction digits."""
    pattern: NumberPattern = copy.copy(babel_locale(lang).currency_formats["standard"])
    pattern.frac_prec = (digits, digits)
    return pattern


@lru_cache(maxsize=16)
def _percent_pattern(lang: str) -> NumberPattern:
    pattern: NumberPattern = copy.copy(babel_locale(lang).percent_formats[None])
    pattern.frac_prec = (0, 2)
    return pattern


@lru_cache(maxsize=1024)
def _kilograms(weight_kg: Decimal, lang: str) -> str:
    return format_number(weight_kg, 2, lang)


@lru_cache(maxsize=64)
def _format_percent(percent: Decimal, lang: str) -> str:
    """``5%``, ``2.5%``, ``5 %``: as the language writes a percentage."""
    return str(_percent_pattern(lang).apply(percent / 100, babel_locale(lang)))
