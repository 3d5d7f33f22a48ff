"""The rate book: how many units of a currency one CNY buys, and who says so.

Reference rates (the European Central Bank's, with their date) are the base;
the operator's ``CURRENCY_RATES`` replace them per currency; the operator's
``RATE_MARKUP_PERCENT`` is added to every rate, the operator's own included.
A currency with neither has no rate: the card shows CNY alone rather than a
wrong figure. CNY itself converts at 1, with no markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from bot.money.currencies import CNY

HUNDRED = Decimal(100)


class RateSource(StrEnum):
    """Where a rate comes from."""

    REFERENCE = "reference"  # the ECB's reference rate of ``day``
    OPERATOR = "operator"  # CURRENCY_RATES
    SAME = "same"  # CNY to CNY


@dataclass(frozen=True, slots=True)
class Rate:
    """Units of ``currency`` per 1 CNY, the markup included."""

    currency: str
    per_cny: Decimal
    source: RateSource
    day: date | None = None  # the reference rate's date
    markup_percent: Decimal = Decimal(0)

    @property
    def converts(self) -> bool:
        """False for CNY: the card shows its CNY figures alone."""
        return self.currency != CNY


@dataclass(frozen=True)
class ReferenceRates:
    """Units per 1 CNY of each currency on one day, from one publisher."""

    day: date
    per_cny: Mapping[str, Decimal] = field(default_factory=dict)
    publisher: str = "ECB"

    def __post_init__(self) -> None:
        object.__setattr__(self, "per_cny", MappingProxyType(dict(self.per_cny)))


class RateBook:
    """The rates cards convert at; reference rates are swapped when newer ones come.

    Reads are dictionary look-ups: a card's render never waits for a rate.
    """

    def __init__(
        self,
        reference: ReferenceRates,
        overrides: Mapping[str, Decimal] | None = None,
        markup_percent: Decimal = Decimal(0),
    ) -> None:
        self._overrides = dict(overrides or {})
        self._markup = markup_percent
        self._reference = reference
        self._rates = self._build(reference)

    @property
    def reference(self) -> ReferenceRates:
        return self._reference

    def rate(self, currency: str) -> Rate | None:
        """The rate for ``currency``, or None when nobody gives one."""
        return self._rates.get(currency)

    def currencies(self) -> list[str]:
        """Every currency with a rate, CNY first, then alphabetical."""
        return [CNY, *sorted(code for code in self._rates if code != CNY)]

    def adopt(self, reference: ReferenceRates) -> bool:
        """Take ``reference`` when it is newer than the rates in use; whether it was."""
        if reference.day <= self._reference.day:
            return False
        self._rates = self._build(reference)
        self._reference = reference
        return True

    def _build(self, reference: ReferenceRates) -> dict[str, Rate]:
        factor = 1 + self._markup / HUNDRED
        rates = {
            code: Rate(code, per_cny * factor, RateSource.REFERENCE, reference.day, self._markup)
            for code, per_cny in reference.per_cny.items()
            if code != CNY
        }
        for code, per_cny in self._overrides.items():
            rates[code] = Rate(code, per_cny * factor, RateSource.OPERATOR, None, self._markup)
        rates[CNY] = Rate(CNY, Decimal(1), RateSource.SAME)
        return rates
