"""Converted prices and the cost to the door, in ``Decimal`` from start to end.

A converted price is the CNY price times the rate (markup included), rounded
once, half up, to the digits its currency shows (cents for USD, whole units
for JPY, RUB, KZT). The cost to the door, in CNY, is
``price × (1 + fee/100) + weight_kg × shipping per kg``; it is converted like
any price. A range converts each end.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from bot.money.currencies import display_digits
from bot.money.rates import HUNDRED, Rate

GRAMS_PER_KG = Decimal(1000)
CENT = Decimal("0.01")


def rounded(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half up to the digits ``currency`` shows."""
    return amount.quantize(Decimal(1).scaleb(-display_digits(currency)), rounding=ROUND_HALF_UP)


def convert(amount_cny: Decimal, rate: Rate) -> Decimal:
    """``amount_cny`` in ``rate``'s currency, rounded as that currency shows."""
    return rounded(amount_cny * rate.per_cny, rate.currency)


@dataclass(frozen=True, slots=True)
class Shipping:
    """The operator's terms for the landed-cost estimate."""

    per_kg_cny: Decimal
    fee_percent: Decimal | None = None


@dataclass(frozen=True, slots=True)
class LandedCost:
    """The estimated cost to the door in CNY (unrounded) and what it includes."""

    low: Decimal
    high: Decimal
    weight_kg: Decimal
    fee_percent: Decimal | None


def landed_cost(
    low: Decimal, high: Decimal, weight_grams: Decimal | None, shipping: Shipping | None
) -> LandedCost | None:
    """The cost to the door of an item priced ``low``–``high`` CNY; None without
    shipping terms or a known weight."""
    if shipping is None or weight_grams is None or weight_grams <= 0:
        return None
    weight_kg = weight_grams / GRAMS_PER_KG
    fee = shipping.fee_percent or Decimal(0)
    carriage = weight_kg * shipping.per_kg_cny

    def to_door(price: Decimal) -> Decimal:
        return price * (1 + fee / HUNDRED) + carriage

    return LandedCost(to_door(low), to_door(high), weight_kg, shipping.fee_percent or None)
