"""The currencies the bot knows, which one a language gets, and how many digits it shows."""

from __future__ import annotations

import re
from functools import lru_cache

from babel.numbers import get_currency_precision, list_currencies

# The marketplaces' own money: a card in CNY converts nothing.
CNY = "CNY"
# The keyboard of /currency, in this order; CNY last, for "no conversion".
COMMON_CURRENCIES = ("USD", "EUR", "GBP", "RUB", "KZT", "UAH", "BYN", "PLN", "BRL", "CAD", "AUD")
# Without a choice or DEFAULT_CURRENCY, a card converts by its language.
LANGUAGE_CURRENCIES = {"en": "USD", "ru": "RUB", "es": "EUR", "zh": CNY}
FALLBACK_CURRENCY = "USD"
# Shown in whole units although ISO 4217 gives them cents: nobody prices goods in
# kopecks or tiyn, and "1 148 ₽" reads better than "1 148,37 ₽". Currencies whose
# ISO precision is 0 (JPY, KRW, HUF, …) are whole too.
WHOLE_UNITS = frozenset({"RUB", "KZT", "UZS", "AMD", "KGS", "RSD"})
_CODE = re.compile(r"[A-Z]{3}")


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    return frozenset(list_currencies())


def normalize_code(text: str) -> str | None:
    """``eur`` → ``EUR`` when it is an ISO 4217 currency the bot can write; else None."""
    code = text.strip().upper()
    if not _CODE.fullmatch(code) or code not in _known():
        return None
    return code


def currency_for_language(lang: str) -> str:
    """The currency a language's readers most likely think in (unknown: USD)."""
    return LANGUAGE_CURRENCIES.get(lang, FALLBACK_CURRENCY)


@lru_cache(maxsize=256)
def display_digits(currency: str) -> int:
    """Fraction digits a converted price shows: 2 for USD, 0 for JPY, RUB and KZT."""
    if currency in WHOLE_UNITS:
        return 0
    return min(get_currency_precision(currency), 2)
