"""The upstream's values, coerced leniently: a value of the wrong type becomes None.

Numbers sent as strings (or not), ``""`` vs ``null``, prices and ranges with
currency signs, sales like ``"3.2万+"``, weights with or without a unit, image
lists of strings or ``{url}`` objects, ``"Name: Value"`` pairs. Each coercion
tests for ``str`` first: it is what the upstream sends most. The ``Annotated``
types at the end put them on the payload models' fields.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import PlainValidator, ValidationError, ValidatorFunctionWrapHandler

from bot.catbuy.upstream_text import TEXT_LIMIT, clean_text

TITLE_LIMIT = 500
URL_LIMIT = 2048
MAX_IMAGES = 20
MAX_ATTRIBUTES = 50
# Prices and counts past this are garbage, not goods.
_NUMBER_LIMIT = Decimal(10) ** 12
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_PAIR_SEP = re.compile("[:：]")
_MONEY = re.compile(r"[¥￥]?\s*(\d{1,13}(?:\.\d{1,8})?)\s*(?:元|CNY|RMB)?", re.IGNORECASE)
_WEIGHT = re.compile(r"(\d{1,9}(?:\.\d{1,6})?)\s*(kg|g)?", re.IGNORECASE)
_SALES = re.compile(r"(\d{1,12}(?:\.\d{1,4})?)\s*(万|w|千|k)?", re.IGNORECASE)
# A scheme (or none), a host of plain labels, a path of plain characters.
_PLAIN_IMAGE_URL = re.compile(
    r"(?:https?:)?//([a-z0-9-]+(?:\.[a-z0-9-]+)+)(/[\w./!~%-]*)?", re.IGNORECASE | re.ASCII
)
_SALES_MULTIPLIER = {"万": 10_000, "w": 10_000, "千": 1_000, "k": 1_000}


def as_text(value: object, limit: int = TEXT_LIMIT) -> str | None:
    if isinstance(value, str):
        return clean_text(value, limit) or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return clean_text(str(value), limit) or None
    return None


def _as_title(value: object) -> str | None:
    return as_text(value, TITLE_LIMIT)


def _as_raw_str(value: object) -> str | None:
    """A string or number as is (ids, option keys); bounded, not unescaped."""
    if isinstance(value, str):
        text = value.strip()[:4000]
        return text if text.isascii() else _SURROGATES.sub("", text)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _as_price_text(value: object) -> str | None:
    """A price or range as text: ``"89.00-109.00"``, ``"79"``, ``79`` or ``38.5``."""
    if isinstance(value, float):
        return str(value) if math.isfinite(value) else None
    return _as_raw_str(value)


def _bounded(number: Decimal) -> Decimal | None:
    return number if number.is_finite() and 0 <= number < _NUMBER_LIMIT else None


# An item's SKUs repeat a few price strings; the key is bounded to 64 characters.
@functools.lru_cache(maxsize=1024)
def _money_text(text: str) -> Decimal | None:
    match = _MONEY.fullmatch(text.replace(",", ""))
    return _bounded(Decimal(match.group(1))) if match else None


def as_money(value: object) -> Decimal | None:
    if isinstance(value, str):
        return _money_text(value.strip()[:64])
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return _bounded(Decimal(value))
    if isinstance(value, float):
        return _bounded(Decimal(str(value))) if math.isfinite(value) else None
    return None


def _as_count(value: object) -> int | None:
    # The usual ``37`` and ``"37"`` need no Decimal; 12 digits are short of the limit.
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value < _NUMBER_LIMIT else None
    if isinstance(value, str) and value.isdecimal() and len(value) <= 12:
        return int(value)
    number = as_money(value)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


def as_signed_int(value: object) -> int | None:
    if isinstance(value, str) and value.strip().startswith("-"):
        magnitude = _as_count(value.strip()[1:])
        return None if magnitude is None else -magnitude
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return _as_count(value)


def _as_sales(value: object) -> int | None:
    """``2318``, ``"1000+"``, ``"3.2万+"`` → a lower bound of units sold."""
    if not isinstance(value, str):
        return _as_count(value)
    match = _SALES.match(value.strip()[:64].replace(",", ""))
    if not match:
        return None
    try:
        number = Decimal(match.group(1)) * _SALES_MULTIPLIER.get((match.group(2) or "").lower(), 1)
    except InvalidOperation:
        return None
    bounded = _bounded(number)
    return None if bounded is None else int(bounded)


def _as_grams(value: object) -> Decimal | None:
    if not isinstance(value, str):
        number = as_money(value)
        unit = ""
    else:
        match = _WEIGHT.fullmatch(value.strip()[:64])
        if not match:
            return None
        number, unit = Decimal(match.group(1)), (match.group(2) or "").lower()
    if not number:
        return None
    if unit == "kg" or (not unit and number < 1):
        number *= 1000
    return _bounded(number) or None


def image_url(value: object) -> str | None:
    """An absolute ``https:`` image URL, or None when the value is not one.

    Protocol-relative ``//img`` becomes ``https:``; the CDN's ``_.webp`` suffix
    is dropped because Telegram may show WebP as a sticker and hide the caption.
    """
    if isinstance(value, Mapping):
        value = value.get("url")
    if not isinstance(value, str):
        return None
    url = value.strip()
    plain = _PLAIN_IMAGE_URL.fullmatch(url) if len(url) <= URL_LIMIT else None
    if plain is not None:  # most CDN URLs: what the checks below would return, sooner
        return f"https://{plain[1]}{_without_webp(plain[2] or '')}"
    return _checked_image_url(url)


def _checked_image_url(url: str) -> str | None:
    url = url.replace("&amp;", "&")
    # Any blank (a no-break space too) or control character: not a URL Telegram fetches.
    if len(url) > URL_LIMIT or "\\" in url or not url.isprintable() or " " in url:
        return None
    if url.startswith("//"):
        url = "https:" + url
    elif url[:7].lower() == "http://":
        url = "https://" + url[7:]
    if url[:8].lower() != "https://":
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None:
        return None
    # What urlunsplit would build: after a host, the path is empty or starts with "/".
    query = f"?{parts.query}" if parts.query else ""
    return f"https://{parts.netloc}{_without_webp(parts.path)}{query}"


def _without_webp(path: str) -> str:
    return path[: -len("_.webp")] if path.endswith("_.webp") else path


def _as_images(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    found = (image_url(entry) for entry in value[: MAX_IMAGES * 4])
    return tuple(url for url in found if url)


def split_pair(text: str) -> tuple[str, str] | None:
    """``"Name: Value"`` split on the first colon (ASCII or full-width)."""
    pair = _PAIR_SEP.split(text, maxsplit=1)
    return (pair[0], pair[1]) if len(pair) == 2 else None


def _as_attributes(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        return ()
    pairs: list[tuple[str, str]] = []
    for entry in value[: MAX_ATTRIBUTES * 4]:
        pair: tuple[object, object] | None = None
        if isinstance(entry, Mapping):
            pair = (entry.get("name"), entry.get("value"))
        elif isinstance(entry, str):
            pair = split_pair(entry)
        if pair is None:
            continue
        name, text = as_text(pair[0]), as_text(pair[1])
        if name and text:
            pairs.append((name, text))
    return tuple(pairs[:MAX_ATTRIBUTES])


def _as_str_map(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    pairs = ((_as_raw_str(k), _as_raw_str(v)) for k, v in value.items())
    return {k: v for k, v in pairs if k and v}


def as_dicts(value: object) -> list[object]:
    if isinstance(value, Mapping):  # {"sku": [...]} around the list
        value = value.get("sku")
    if not isinstance(value, list):
        return []
    return [entry for entry in value if isinstance(entry, Mapping)]


def or_none(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    try:
        return handler(value)
    except ValidationError:
        return None


# The functions above already return the field's type (or None): pydantic
# takes their result as is (PlainValidator) rather than checking it again.
Text = Annotated[str | None, PlainValidator(as_text)]
Title = Annotated[str | None, PlainValidator(_as_title)]
RawStr = Annotated[str | None, PlainValidator(_as_raw_str)]
PriceText = Annotated[str | None, PlainValidator(_as_price_text)]
Money = Annotated[Decimal | None, PlainValidator(as_money)]
Count = Annotated[int | None, PlainValidator(_as_count)]
Sales = Annotated[int | None, PlainValidator(_as_sales)]
Grams = Annotated[Decimal | None, PlainValidator(_as_grams)]
Images = Annotated[tuple[str, ...], PlainValidator(_as_images)]
Attributes = Annotated[tuple[tuple[str, str], ...], PlainValidator(_as_attributes)]
StrMap = Annotated[dict[str, str], PlainValidator(_as_str_map)]
