"""The upstream ``/item`` payload, absorbed into :class:`bot.items.item.Item`.

Every quirk of the CatBuy payload lives here and nowhere else: numbers sent as
strings (or not), ``""`` vs ``null``, image lists of strings or ``{url}``
objects, ``props`` as ``"Name: Value"`` strings or ``{name, value}`` objects,
price ranges in one string, protocol-relative and ``_.webp`` image URLs, HTML
entities in text, and the misspelt ``orginal_price``. A mistyped field is
dropped, not fatal; only a payload with no usable envelope or item identity is
a :class:`BadResponse`.

Assumptions the public reference does not document (kept here, in one place):

* HTTP 200 with ``code != 1`` means the look-up failed and ``msg`` says why
  (e.g. the item does not exist): :class:`ItemNotFound`.
* ``sales_data.weight`` is in grams, except that a bare number under 1 is in
  kilograms: nothing ships at under a gram, and the upstream sends a 280 g
  T-shirt as ``"0.35"`` and a candle cup as ``"0.42"``. A unit, when given, wins.
* ``num`` is the item's total stock; ``quantity`` is a SKU's stock.
"""

from __future__ import annotations

import functools
import html
import math
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

from bot.catbuy.errors import BadResponse, ItemNotFound
from bot.items.item import Dimension, Item, ItemRef, Option, Platform, PriceRange, PriceTier, Sku

TITLE_LIMIT = 500
TEXT_LIMIT = 200
URL_LIMIT = 2048
MAX_IMAGES = 20
MAX_ATTRIBUTES = 50
MAX_DIMENSIONS = 10
MAX_OPTIONS = 300
MAX_SKUS = 2000
MAX_TIERS = 20
# Prices and counts past this are garbage, not goods.
_NUMBER_LIMIT = Decimal(10) ** 12

# A lone surrogate (half an emoji cut off upstream) has no UTF-8 form: Telegram
# and the cache's JSON would both refuse the whole card over it. The zero-width
# joiner and non-joiner stay: they hold emoji sequences (👨‍👩‍👧) and Persian and
# Indic words together.
_CONTROL_CHARS = (
    r"\x00-\x1f\x7f-\x9f\u200b\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff"
)
_BLANKS = re.compile(rf"[\s{_CONTROL_CHARS}]+")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_PAIR_SEP = re.compile("[:：]")
_MONEY = re.compile(r"[¥￥]?\s*(\d{1,13}(?:\.\d{1,8})?)\s*(?:元|CNY|RMB)?", re.IGNORECASE)
_WEIGHT = re.compile(r"(\d{1,9}(?:\.\d{1,6})?)\s*(kg|g)?", re.IGNORECASE)
_SALES = re.compile(r"(\d{1,12}(?:\.\d{1,4})?)\s*(万|w|千|k)?", re.IGNORECASE)
_RANGE_SEP = re.compile(r"\s*[-~～–—]\s*")
_ITEM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_OPTION_KEY = re.compile(r"-?[\w.]{1,40}:-?[\w.]{1,40}")
_OPTION_KEYS = re.compile(rf"{_OPTION_KEY.pattern}(?:;{_OPTION_KEY.pattern})*")
# A scheme (or none), a host of plain labels, a path of plain characters.
_PLAIN_IMAGE_URL = re.compile(
    r"(?:https?:)?//([a-z0-9-]+(?:\.[a-z0-9-]+)+)(/[\w./!~%-]*)?", re.IGNORECASE | re.ASCII
)
_SALES_MULTIPLIER = {"万": 10_000, "w": 10_000, "千": 1_000, "k": 1_000}

# ``api_source`` values seen or expected; second-hand Taobao is Goofish's family.
_SOURCES: dict[str, Platform] = {
    "taobao": Platform.TAOBAO,
    "tmall": Platform.TMALL,
    "1688": Platform.ALI1688,
    "alibaba": Platform.ALI1688,
    "weidian": Platform.WEIDIAN,
    "goofish": Platform.GOOFISH,
    "xianyu": Platform.GOOFISH,
    "idlefish": Platform.GOOFISH,
    "2.taobao": Platform.GOOFISH,
    "2taobao": Platform.GOOFISH,
}
_HOSTS: tuple[tuple[str, Platform], ...] = (
    ("2.taobao.com", Platform.GOOFISH),
    ("goofish.com", Platform.GOOFISH),
    ("taobao.com", Platform.TAOBAO),
    ("tmall.com", Platform.TMALL),
    ("tmall.hk", Platform.TMALL),
    ("1688.com", Platform.ALI1688),
    ("weidian.com", Platform.WEIDIAN),
)


# --- lenient scalars: a value of the wrong type becomes None, never an error ---
# Each tests for ``str`` first: it is what the upstream sends most.


def _is_plain(text: str) -> bool:
    """True when ``_BLANKS`` has nothing to replace in ``text``.

    A quick test that most text passes: ``isprintable()`` is False for every
    control character and every whitespace but the ASCII space.
    """
    return text.isprintable() and "  " not in text


def clean_text(value: str, limit: int = TEXT_LIMIT) -> str:
    """Unescape HTML entities, drop control characters, collapse spaces, bound."""
    text = html.unescape(value[: limit * 8])
    if not _is_plain(text):
        text = _BLANKS.sub(" ", text)
    return text.strip()[:limit].rstrip()


def _as_text(value: object, limit: int = TEXT_LIMIT) -> str | None:
    if isinstance(value, str):
        return clean_text(value, limit) or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return clean_text(str(value), limit) or None
    return None


def _as_title(value: object) -> str | None:
    return _as_text(value, TITLE_LIMIT)


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


def _as_money(value: object) -> Decimal | None:
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
    number = _as_money(value)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


def _as_signed_int(value: object) -> int | None:
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
        number = _as_money(value)
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


def _split_pair(text: str) -> tuple[str, str] | None:
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
            pair = _split_pair(entry)
        if pair is None:
            continue
        name, text = _as_text(pair[0]), _as_text(pair[1])
        if name and text:
            pairs.append((name, text))
    return tuple(pairs[:MAX_ATTRIBUTES])


def _as_str_map(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    pairs = ((_as_raw_str(k), _as_raw_str(v)) for k, v in value.items())
    return {k: v for k, v in pairs if k and v}


def _as_dicts(value: object) -> list[object]:
    if isinstance(value, Mapping):  # {"sku": [...]} around the list
        value = value.get("sku")
    if not isinstance(value, list):
        return []
    return [entry for entry in value if isinstance(entry, Mapping)]


def _or_none(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    try:
        return handler(value)
    except ValidationError:
        return None


# The functions above already return the field's type (or None): pydantic
# takes their result as is (PlainValidator) rather than checking it again.
Text = Annotated[str | None, PlainValidator(_as_text)]
Title = Annotated[str | None, PlainValidator(_as_title)]
RawStr = Annotated[str | None, PlainValidator(_as_raw_str)]
PriceText = Annotated[str | None, PlainValidator(_as_price_text)]
Money = Annotated[Decimal | None, PlainValidator(_as_money)]
Count = Annotated[int | None, PlainValidator(_as_count)]
Sales = Annotated[int | None, PlainValidator(_as_sales)]
Grams = Annotated[Decimal | None, PlainValidator(_as_grams)]
Images = Annotated[tuple[str, ...], PlainValidator(_as_images)]
Attributes = Annotated[tuple[tuple[str, str], ...], PlainValidator(_as_attributes)]
StrMap = Annotated[dict[str, str], PlainValidator(_as_str_map)]

_LENIENT = ConfigDict(extra="ignore", frozen=True)
# Sic: the upstream spells it ``orginal_price``; accept the right spelling too.
_ORIGINAL_PRICE = AliasChoices("orginal_price", "original_price")


class SkuPayload(BaseModel):
    """One entry of ``skus.sku``."""

    model_config = _LENIENT

    sku_id: RawStr = None
    properties: RawStr = None
    properties_name: RawStr = None
    price: Money = None
    original_price: Money = Field(None, validation_alias=_ORIGINAL_PRICE)
    quantity: Count = None
    weight: Grams = None


class TierPayload(BaseModel):
    """One entry of 1688's ``price_range``: ``price`` from ``begin_num`` pieces on."""

    model_config = _LENIENT

    begin_num: Count = None
    price: Money = None


class SellerPayload(BaseModel):
    """``seller_info``."""

    model_config = _LENIENT

    shop_name: Text = None
    nick: Text = None


class SalesPayload(BaseModel):
    """``sales_data``: any key may be missing or null."""

    model_config = _LENIENT

    weight: Grams = None
    delivery_time: Text = None
    sales: Sales = None


def _tolerant_list(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    return handler(_as_dicts(value))


Seller = Annotated[SellerPayload | None, WrapValidator(_or_none)]
SalesData = Annotated[SalesPayload | None, WrapValidator(_or_none)]
Skus = Annotated[tuple[SkuPayload, ...], WrapValidator(_tolerant_list)]
Tiers = Annotated[tuple[TierPayload, ...], WrapValidator(_tolerant_list)]


class ItemPayload(BaseModel):
    """``data`` of a successful ``/item`` answer; unknown keys are ignored."""

    model_config = _LENIENT

    api_source: Text = None
    num_iid: RawStr = None
    title: Title = None
    price: PriceText = None
    original_price: Money = Field(None, validation_alias=_ORIGINAL_PRICE)
    nick: Text = None
    num: Count = None
    min_num: Count = None
    unit: Text = None
    detail_url: RawStr = None
    pic_url: RawStr = None
    item_imgs: Images = ()
    props: Attributes = ()
    props_name: RawStr = None
    props_list: StrMap = Field(default_factory=dict)
    props_img: StrMap = Field(default_factory=dict)
    skus: Skus = ()
    price_range: Tiers = ()
    seller_info: Seller = None
    location: Text = None
    sales_data: SalesData = None


def _price_range(value: str | None) -> PriceRange | None:
    """``"89.00-109.00"``, ``"79"`` or ``79`` (numbers arrive here as strings)."""
    if not value:
        return None
    ends = [_as_money(part) for part in _RANGE_SEP.split(value.strip(), maxsplit=1)]
    prices = [p for p in ends if p is not None]
    if len(prices) != len(ends):
        return None
    return PriceRange(low=min(prices), high=max(prices))


def _images(data: ItemPayload) -> tuple[str, ...]:
    main = image_url(data.pic_url)
    ordered = dict.fromkeys(url for url in (main, *data.item_imgs) if url)
    return tuple(ordered)[:MAX_IMAGES]


def _split_props_name(source: str | None) -> Iterable[tuple[str, str]]:
    """``"pid:vid:Name:Value;..."`` → (``"pid:vid"``, ``"Name:Value"``)."""
    for part in (source or "").split(";"):
        pieces = part.split(":", 2)
        if len(pieces) == 3:
            yield f"{pieces[0].strip()}:{pieces[1].strip()}", pieces[2]


def _option_names(data: ItemPayload) -> dict[str, str]:
    if data.props_list:
        return data.props_list
    # Without props_list, the same labels are spelt out in props_name strings.
    names: dict[str, str] = {}
    for source in (data.props_name, *(sku.properties_name for sku in data.skus)):
        for key, text in _split_props_name(source):
            names.setdefault(key, text)
    return names


def _dimensions(data: ItemPayload) -> tuple[Dimension, ...]:
    names: dict[str, str] = {}
    options: dict[str, list[Option]] = {}
    for key, text in _option_names(data).items():
        key = key.strip()
        if not _OPTION_KEY.fullmatch(key):
            continue
        pid, vid = key.split(":", 1)
        if pid not in options:
            if len(options) >= MAX_DIMENSIONS:
                continue
            options[pid] = []
        if len(options[pid]) >= MAX_OPTIONS:
            continue
        pair = _split_pair(text)
        # A dimension's name is the first one its options spell out.
        if pair and not names.get(pid):
            names[pid] = _as_text(pair[0]) or ""
        label = _as_text(pair[1] if pair else text)
        image = image_url(data.props_img.get(key))
        options[pid].append(Option(key=key, label=label or vid, image=image))
    return tuple(
        Dimension(pid=pid, name=names.get(pid, ""), options=tuple(opts))
        for pid, opts in options.items()
    )


def _option_keys(properties: str | None) -> tuple[str, ...]:
    """``"0:0;1:3"`` → (``"0:0"``, ``"1:3"``); malformed parts are dropped."""
    if properties and _OPTION_KEYS.fullmatch(properties):  # the usual: all well formed
        return tuple(properties.split(";"))
    parts = [part.strip() for part in (properties or "").split(";")]
    return tuple([key for key in parts if _OPTION_KEY.fullmatch(key)])


def _skus(data: ItemPayload) -> tuple[Sku, ...]:
    skus: dict[str, Sku] = {}
    for entry in data.skus[:MAX_SKUS]:
        keys = _option_keys(entry.properties)
        sku_id = entry.sku_id if entry.sku_id and len(entry.sku_id) <= 64 else ";".join(keys)
        if not sku_id or sku_id in skus:
            continue
        skus[sku_id] = Sku(
            sku_id=sku_id,
            options=keys,
            price=entry.price,
            original_price=entry.original_price,
            stock=entry.quantity,
            weight_grams=entry.weight,
        )
    return tuple(skus.values())


def _tiers(data: ItemPayload) -> tuple[PriceTier, ...]:
    tiers = {
        tier.begin_num: PriceTier(min_quantity=tier.begin_num, price=tier.price)
        for tier in data.price_range[:MAX_TIERS]
        if tier.begin_num is not None and tier.price is not None
    }
    return tuple(tiers[n] for n in sorted(tiers))


def _platform(data: ItemPayload) -> Platform | None:
    if data.api_source and data.api_source.lower() in _SOURCES:
        return _SOURCES[data.api_source.lower()]
    try:
        host = (urlsplit(data.detail_url or "").hostname or "").rstrip(".")
    except ValueError:
        return None
    for domain, platform in _HOSTS:
        if host == domain or host.endswith("." + domain):
            return platform
    return None


def _identity(data: ItemPayload, fallback: ItemRef | None) -> tuple[Platform, str]:
    # The pasted link is the item's identity everywhere (cache, stats, the
    # canonical URL), so it wins over what the payload says about itself.
    if fallback is not None:
        return fallback.platform, fallback.item_id
    platform = _platform(data)
    item_id = data.num_iid if data.num_iid and _ITEM_ID.fullmatch(data.num_iid) else None
    if platform is None or item_id is None:
        raise BadResponse("item payload names no platform or item id")
    return platform, item_id


def _item(data: ItemPayload, fallback: ItemRef | None) -> Item:
    platform, item_id = _identity(data, fallback)
    skus = _skus(data)
    sku_prices = [sku.price for sku in skus if sku.price is not None]
    price = _price_range(data.price) or (
        PriceRange(low=min(sku_prices), high=max(sku_prices)) if sku_prices else None
    )
    stocks = [sku.stock for sku in skus if sku.stock is not None]
    seller = data.seller_info or SellerPayload()
    sales = data.sales_data or SalesPayload()
    return Item(
        platform=platform,
        item_id=item_id,
        title=data.title or "",
        price=price,
        original_price=data.original_price or None,
        images=_images(data),
        attributes=data.props,
        shop=seller.shop_name or seller.nick or data.nick,
        sales=sales.sales,
        weight_grams=sales.weight,
        stock=data.num if data.num is not None else (sum(stocks) if stocks else None),
        min_order=data.min_num or None,
        unit=data.unit,
        price_tiers=_tiers(data),
        location=data.location,
        delivery_time=sales.delivery_time,
        dimensions=_dimensions(data),
        skus=skus,
    )


def parse_item(raw: object, *, fallback: ItemRef | None = None) -> Item:
    """Turn a decoded ``/item`` answer into an :class:`Item`.

    ``fallback`` is the item the look-up asked for; when given, its platform
    and id are the item's identity. Raises :class:`ItemNotFound` for a
    ``code`` other than 1 and :class:`BadResponse` for anything unusable;
    messages never quote the payload beyond a bounded ``msg``.
    """
    if not isinstance(raw, Mapping):
        raise BadResponse("item answer is not a JSON object")
    code = _as_signed_int(raw.get("code"))
    if code is None:
        raise BadResponse("item answer has no code")
    if code != 1:
        message = _as_text(raw.get("msg"), 80) or "no message"
        raise ItemNotFound(f"upstream code {code}: {message}")
    data: Any = raw.get("data")
    if not isinstance(data, Mapping):
        raise BadResponse("item answer has no data object")
    try:
        return _item(ItemPayload.model_validate(data), fallback)
    except (ValidationError, RecursionError, ValueError, InvalidOperation):
        raise BadResponse("item payload has the wrong shape") from None
