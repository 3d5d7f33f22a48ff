"""The upstream ``/item`` payload, absorbed into :class:`bot.items.item.Item`.

Every quirk of the CatBuy payload is absorbed here and nowhere past it: the
payload models and their assembly into an item (``props_list`` and SKUs into
dimensions, price ranges in one string, the misspelt ``orginal_price``) are
this module; each field's value is coerced by ``bot.catbuy.lenient_values``
(numbers sent as strings or not, ``""`` vs ``null``, image lists of strings or
``{url}`` objects) and its text cleaned by ``bot.catbuy.upstream_text``. A
mistyped field is dropped, not fatal; only a payload with no usable envelope
or item identity is a :class:`BadResponse`.

Assumptions the public reference does not document (kept here, in one place):

* HTTP 200 with ``code != 1`` means the look-up failed and ``msg`` says why
  (e.g. the item does not exist): :class:`ItemNotFound`.
* ``sales_data.weight`` is in grams, except that a bare number under 1 is in
  kilograms: nothing ships at under a gram, and the upstream sends a 280 g
  T-shirt as ``"0.35"`` and a candle cup as ``"0.42"``. A unit, when given, wins.
* ``num`` is the item's total stock; ``quantity`` is a SKU's stock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

from bot.catbuy.errors import BadResponse, ItemNotFound
from bot.catbuy.lenient_values import (
    MAX_IMAGES,
    Attributes,
    Count,
    Grams,
    Images,
    Money,
    PriceText,
    RawStr,
    Sales,
    StrMap,
    Text,
    Title,
    as_dicts,
    as_money,
    as_signed_int,
    as_text,
    image_url,
    or_none,
    split_pair,
)
from bot.items.item import Dimension, Item, ItemRef, Option, Platform, PriceRange, PriceTier, Sku

MAX_DIMENSIONS = 10
MAX_OPTIONS = 300
MAX_SKUS = 2000
MAX_TIERS = 20

_RANGE_SEP = re.compile(r"\s*[-~～–—]\s*")
_ITEM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_OPTION_KEY = re.compile(r"-?[\w.]{1,40}:-?[\w.]{1,40}")
_OPTION_KEYS = re.compile(rf"{_OPTION_KEY.pattern}(?:;{_OPTION_KEY.pattern})*")

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
    return handler(as_dicts(value))


Seller = Annotated[SellerPayload | None, WrapValidator(or_none)]
SalesData = Annotated[SalesPayload | None, WrapValidator(or_none)]
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
    ends = [as_money(part) for part in _RANGE_SEP.split(value.strip(), maxsplit=1)]
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
        pair = split_pair(text)
        # A dimension's name is the first one its options spell out.
        if pair and not names.get(pid):
            names[pid] = as_text(pair[0]) or ""
        label = as_text(pair[1] if pair else text)
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
    code = as_signed_int(raw.get("code"))
    if code is None:
        raise BadResponse("item answer has no code")
    if code != 1:
        message = as_text(raw.get("msg"), 80) or "no message"
        raise ItemNotFound(f"upstream code {code}: {message}")
    data: Any = raw.get("data")
    if not isinstance(data, Mapping):
        raise BadResponse("item answer has no data object")
    try:
        return _item(ItemPayload.model_validate(data), fallback)
    except (ValidationError, RecursionError, ValueError, InvalidOperation):
        raise BadResponse("item payload has the wrong shape") from None
