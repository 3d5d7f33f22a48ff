"""How a card writes converted money: as Babel writes it, for every language and currency."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.cards.prices import _babel_money, format_money, format_money_range
from bot.money.conversion import rounded
from bot.money.currencies import COMMON_CURRENCIES

LANGS = ("en", "ru", "zh", "es")
CURRENCIES = (*COMMON_CURRENCIES, "JPY", "KRW", "HUF", "CHF", "INR", "IDR")


@given(
    amount=st.decimals(min_value=Decimal(0), max_value=Decimal(10**9), places=4),
    lang=st.sampled_from(LANGS),
    currency=st.sampled_from(CURRENCIES),
)
def test_the_quick_writing_is_babel_s(amount: Decimal, lang: str, currency: str) -> None:
    shown = rounded(amount, currency)
    assert format_money(shown, currency, lang) == _babel_money(shown, currency, lang)


@pytest.mark.parametrize(
    ("lang", "currency", "expected"),
    [
        ("en", "USD", "$12.37 – 15.15"),
        ("ru", "RUB", "1\xa0148 – 1\xa0406\xa0₽"),
        ("en", "RUB", "RUB\xa01,148 – 1,406"),
        ("es", "USD", "12,37 – 15,15\xa0US$"),
        ("zh", "JPY", "JP¥1,148 – 1,406"),
    ],
)
def test_a_range_writes_the_symbol_once(lang: str, currency: str, expected: str) -> None:
    low, high = (
        (Decimal("12.37"), Decimal("15.15"))
        if currency == "USD"
        else (Decimal(1148), Decimal(1406))
    )
    assert format_money_range(low, high, currency, lang) == expected
