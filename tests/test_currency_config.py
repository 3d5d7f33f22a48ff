"""The currency settings: bad values stop the bot at start, one line naming the variable."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest

from bot.app import rate_book, shipping
from bot.config import ConfigError, Settings, load_settings
from bot.money.conversion import Shipping
from tests.bot_process import ROOT, bot_env


def settings(**values: object) -> Settings:
    return load_settings(bot_token="1:abc", catbuy_api_key="cbk_x", _env_file=None, **values)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEFAULT_CURRENCY", "DOLLARS"),
        ("DEFAULT_CURRENCY", "XYZ"),
        ("CURRENCY_RATES", "RUB:12.9"),
        ("CURRENCY_RATES", "RUB=12.9,USD="),
        ("CURRENCY_RATES", "RUB=-1"),
        ("CURRENCY_RATES", "RUB=0"),
        ("CURRENCY_RATES", "CNY=1"),
        ("CURRENCY_RATES", "ABC=1"),
        ("CURRENCY_RATES", "RUB=1e5"),
        ("RATE_MARKUP_PERCENT", "-5"),
        ("RATE_MARKUP_PERCENT", "NaN"),
        ("RATE_MARKUP_PERCENT", "five"),
        ("SERVICE_FEE_PERCENT", "101"),
        ("SERVICE_FEE_PERCENT", "1e999999999"),
        ("SHIPPING_CNY_PER_KG", "0"),
        ("SHIPPING_CNY_PER_KG", "inf"),
        ("RATES_URL", "http://rates.example/daily.xml"),
    ],
)
def test_a_bad_currency_setting_is_named(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(**{name.lower(): value})
    assert str(caught.value).startswith(f"{name} is invalid") and "\n" not in str(caught.value)


def test_good_settings_are_read_as_exact_decimals() -> None:
    loaded = settings(
        default_currency=" eur ",
        currency_rates="RUB=12.9, kzt = 70.25",
        rate_markup_percent="2.5",
        service_fee_percent="5",
        shipping_cny_per_kg="60",
        rates_url="",
    )
    assert loaded.default_currency == "EUR"
    assert loaded.currency_rates == {"RUB": Decimal("12.9"), "KZT": Decimal("70.25")}
    assert loaded.rate_markup_percent == Decimal("2.5") and loaded.rates_url is None
    assert shipping(loaded) == Shipping(Decimal("60"), Decimal("5"))
    assert shipping(settings()) is None


def test_a_default_currency_needs_a_rate() -> None:
    with pytest.raises(
        ConfigError, match=r"^DEFAULT_CURRENCY is invalid: no reference rate for RUB"
    ):
        rate_book(settings(default_currency="RUB"))
    rub = rate_book(settings(default_currency="RUB", currency_rates="RUB=12.9")).rate("RUB")
    assert rub is not None and rub.per_cny == Decimal("12.9")
    assert rate_book(settings(default_currency="CNY")).rate("CNY") is not None


@pytest.mark.parametrize(
    ("name", "env"),
    [
        ("CURRENCY_RATES", {"CURRENCY_RATES": "RUB=lots"}),
        ("DEFAULT_CURRENCY", {"DEFAULT_CURRENCY": "RUB"}),  # known, but nobody gives a rate
    ],
)
def test_the_bot_exits_2_with_one_line(name: str, env: dict[str, str]) -> None:
    environment = bot_env(BOT_TOKEN="1:abc", CATBUY_API_KEY="cbk_x", **env)
    result = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=ROOT, env=environment, capture_output=True, timeout=60
    )
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and name in lines[0]
    assert "Traceback" not in result.stderr.decode()
