"""Money: rates, conversion and the cost to the door, in Decimal (no Telegram, no network)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.money.choices import CurrencyChoices, Holder, holder_for
from bot.money.conversion import Shipping, convert, landed_cost, rounded
from bot.money.currencies import currency_for_language, display_digits, normalize_code
from bot.money.rates import Rate, RateBook, RateSource, ReferenceRates
from bot.money.reference import BadReference, bundled_reference, parse_daily_csv, parse_daily_xml
from bot.storage.store import open_store

D = Decimal
DAY = date(2026, 12, 3)


def book(markup: str = "0", **overrides: str) -> RateBook:
    reference = ReferenceRates(DAY, {"USD": D("0.139"), "EUR": D("0.1298"), "JPY": D("21.3456")})
    return RateBook(reference, {k: D(v) for k, v in overrides.items()}, D(markup))


def usd(per_cny: str) -> Rate:
    return Rate("USD", D(per_cny), RateSource.OPERATOR)


def test_a_price_converts_exactly_and_rounds_half_up_to_cents() -> None:
    assert convert(D("89.00"), usd("0.139")) == D("12.37")  # 12.371
    assert convert(D("0.10"), usd("0.125")) == D("0.01")  # 0.0125: half up, not to even
    assert convert(D("0.1"), usd("0.2")) == D("0.02")  # no 0.020000000000000004 of floats
    assert convert(D("109.00"), usd("0.139")) == D("15.15")  # 15.151


@pytest.mark.parametrize(
    ("currency", "digits"),
    [("USD", 2), ("EUR", 2), ("JPY", 0), ("KZT", 0), ("RUB", 0), ("KRW", 0), ("UAH", 2)],
)
def test_whole_unit_currencies_show_no_decimals(currency: str, digits: int) -> None:
    assert display_digits(currency) == digits
    assert rounded(D("1148.5"), currency) == (D("1149") if digits == 0 else D("1148.50"))


def test_rub_from_the_operator_rate_in_whole_roubles() -> None:
    rub = Rate("RUB", D("12.9"), RateSource.OPERATOR)
    assert convert(D("89"), rub) == D("1148")  # 1148.1
    assert convert(D("109"), rub) == D("1406")  # 1406.1


def test_the_markup_is_added_to_every_rate_the_operator_s_own_included() -> None:
    rates = book("2", RUB="12.9")
    usd_rate, rub_rate = rates.rate("USD"), rates.rate("RUB")
    assert usd_rate is not None and rub_rate is not None
    assert usd_rate.per_cny == D("0.14178") and usd_rate.source is RateSource.REFERENCE
    assert rub_rate.per_cny == D("13.158") and rub_rate.source is RateSource.OPERATOR
    assert convert(D("89"), usd_rate) == D("12.62")  # 12.61842
    cny = rates.rate("CNY")
    assert cny is not None and cny.per_cny == 1 and not cny.converts  # no markup on CNY


def test_operator_rates_override_the_reference_and_fill_its_gaps() -> None:
    rates = book(USD="0.14", KZT="70.5")
    assert rates.rate("USD") == Rate("USD", D("0.14"), RateSource.OPERATOR, None, D(0))
    assert rates.rate("KZT") is not None
    assert rates.rate("RUB") is None  # nobody gives one: no figure rather than a wrong one
    assert rates.currencies()[0] == "CNY" and "KZT" in rates.currencies()


def test_only_newer_reference_rates_are_adopted() -> None:
    rates = book()
    assert not rates.adopt(ReferenceRates(date(2026, 12, 2), {"USD": D("1")}))
    assert rates.adopt(ReferenceRates(date(2026, 12, 4), {"USD": D("0.2")}))
    rate = rates.rate("USD")
    assert rate is not None and rate.per_cny == D("0.2") and rate.day == date(2026, 12, 4)
    assert rates.rate("JPY") is None  # gone from the newer table


def test_landed_cost_is_price_plus_fee_plus_shipping_by_weight() -> None:
    terms = Shipping(per_kg_cny=D("60"), fee_percent=D("5"))
    cost = landed_cost(D("89"), D("109"), D("350"), terms)
    assert cost is not None
    assert cost.low == D("89") * D("1.05") + D("0.35") * 60 == D("114.45")
    assert cost.high == D("135.45")
    assert cost.weight_kg == D("0.35") and cost.fee_percent == D("5")
    assert convert(cost.low, usd("0.139")) == D("15.91")  # 15.90855


def test_landed_cost_without_a_fee_or_without_a_weight() -> None:
    cost = landed_cost(D("89"), D("89"), D("1500"), Shipping(D("40")))
    assert cost is not None and cost.low == D("149") and cost.fee_percent is None
    assert landed_cost(D("89"), D("89"), None, Shipping(D("40"))) is None
    assert landed_cost(D("89"), D("89"), D("0"), Shipping(D("40"))) is None
    assert landed_cost(D("89"), D("89"), D("350"), None) is None


prices = st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=2)
rates_per_cny = st.decimals(min_value=D("0.0001"), max_value=D("100000"), places=6)
markups = st.decimals(min_value=D("0"), max_value=D("100"), places=2)


@given(price=prices, per_cny=rates_per_cny, markup=markups)
def test_conversion_matches_exact_arithmetic_rounded_once(
    price: Decimal, per_cny: Decimal, markup: Decimal
) -> None:
    reference = ReferenceRates(DAY, {"USD": per_cny, "JPY": per_cny})
    rates = RateBook(reference, {}, markup)
    for code, quantum in (("USD", D("0.01")), ("JPY", D("1"))):
        rate = rates.rate(code)
        assert rate is not None
        exact = price * per_cny * (1 + markup / 100)
        assert convert(price, rate) == exact.quantize(quantum, rounding=ROUND_HALF_UP)
        assert abs(convert(price, rate) - exact) <= quantum / 2


@given(low=prices, extra=prices, per_cny=rates_per_cny)
def test_a_range_converts_to_an_ordered_range(
    low: Decimal, extra: Decimal, per_cny: Decimal
) -> None:
    rate = Rate("USD", per_cny, RateSource.OPERATOR)
    assert convert(low, rate) <= convert(low + extra, rate)


@given(
    price=prices,
    grams=st.decimals(min_value=D("1"), max_value=D("100000"), places=1),
    per_kg=st.decimals(min_value=D("0.01"), max_value=D("1000"), places=2),
    fee=st.one_of(st.none(), markups),
)
def test_landed_cost_is_never_below_the_price(
    price: Decimal, grams: Decimal, per_kg: Decimal, fee: Decimal | None
) -> None:
    cost = landed_cost(price, price, grams, Shipping(per_kg, fee))
    assert cost is not None
    assert cost.low == price * (1 + (fee or D(0)) / 100) + grams / 1000 * per_kg
    assert cost.low > price


def test_codes_and_defaults_by_language() -> None:
    assert normalize_code(" eur ") == "EUR"
    assert normalize_code("XYZ") is None and normalize_code("US") is None
    assert normalize_code("€") is None
    assert [currency_for_language(lang) for lang in ("en", "ru", "es", "zh", "de")] == [
        "USD",
        "RUB",
        "EUR",
        "CNY",
        "USD",
    ]


def test_the_bundled_reference_rates_cover_cny_and_have_a_date() -> None:
    reference = bundled_reference()
    assert reference.day >= date(2025, 1, 1)
    assert {"USD", "EUR", "GBP", "JPY", "PLN", "BRL", "CAD", "AUD"} <= set(reference.per_cny)
    assert "RUB" not in reference.per_cny  # the ECB quotes no RUB since 2022
    assert D("0.05") < reference.per_cny["USD"] < D("0.5")


ECB_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
  xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <Cube><Cube time="2026-12-03">
    <Cube currency="USD" rate="1.1000"/><Cube currency="JPY" rate="170.00"/>
    <Cube currency="CNY" rate="8.0000"/><Cube currency="XXX" rate="N/A"/>
  </Cube></Cube>
</gesmes:Envelope>"""


def test_the_daily_xml_gives_cross_rates_per_cny() -> None:
    reference = parse_daily_xml(ECB_XML)
    assert reference.day == date(2026, 12, 3)
    assert reference.per_cny == {"USD": D("0.1375"), "JPY": D("21.25"), "EUR": D("0.125")}


@pytest.mark.parametrize(
    "document",
    [
        b"<html>503 Service Unavailable</html>",
        b"not xml at all",
        ECB_XML.replace(b'currency="CNY"', b'currency="CNH"'),
        b'<!DOCTYPE x [<!ENTITY a "aaaa">]><Cube time="2026-12-03"/>',
        ECB_XML.replace(b"2026-12-03", b"03.12.2026"),
        b"<Cube>" + b" " * 70_000 + b"</Cube>",
    ],
)
def test_an_odd_document_is_refused_not_guessed(document: bytes) -> None:
    with pytest.raises(BadReference):
        parse_daily_xml(document)


def test_the_one_day_csv_as_the_ecb_writes_it() -> None:
    reference = parse_daily_csv(
        "Date, USD, JPY, CNY, \n30 October 2026, 1.1172, 175.68, 7.4326, \n"
    )
    assert reference.day == date(2026, 10, 30)
    assert reference.per_cny["USD"] == D("1.1172") / D("7.4326")


async def test_a_store_that_is_down_means_the_default_and_a_refused_choice() -> None:
    store = open_store("redis://127.0.0.1:1/0", timeout=0.2)  # nothing listens there
    try:
        choices = CurrencyChoices(store, default="EUR")
        assert await choices.currency(Holder("u", 1), "en") == "EUR"
        with pytest.raises(RedisError):
            await choices.choose(Holder("u", 1), "USD")
    finally:
        await store.aclose()


async def test_choices_are_per_user_and_per_group(redis: Redis) -> None:
    choices, other_replica = CurrencyChoices(redis), CurrencyChoices(redis)
    user = holder_for(chat_id=5, user_id=5, is_group=False)
    group = holder_for(chat_id=-100, user_id=5, is_group=True)
    await choices.choose(group, "EUR")
    assert await other_replica.currency(group, "en") == "EUR"
    assert await other_replica.currency(user, "ru") == "RUB"  # by language
    await redis.set(user.key, "garbage")
    assert await CurrencyChoices(redis).currency(user, "zh") == "CNY"
