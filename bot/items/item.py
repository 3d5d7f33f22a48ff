"""The product model: what the bot knows about a marketplace item.

Plain data, free of Telegram and of the upstream's payload quirks (those are
absorbed in ``bot.catbuy.payload``). Items are cached as JSON, so every type
here round-trips through ``model_dump_json`` / ``model_validate_json``.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Platform(StrEnum):
    """A marketplace the upstream serves."""

    TAOBAO = "taobao"
    TMALL = "tmall"
    ALI1688 = "1688"
    WEIDIAN = "weidian"
    GOOFISH = "goofish"


_CANONICAL_URLS: dict[Platform, str] = {
    Platform.TAOBAO: "https://item.taobao.com/item.htm?id={id}",
    Platform.TMALL: "https://detail.tmall.com/item.htm?id={id}",
    Platform.ALI1688: "https://detail.1688.com/offer/{id}.html",
    Platform.WEIDIAN: "https://weidian.com/item.html?itemID={id}",
    Platform.GOOFISH: "https://www.goofish.com/item?id={id}",
}


class ItemRef(BaseModel):
    """The identity of an item everywhere: cache, coalescing, stats.

    ``sku_id`` is the variant the pasted link named, if any; it is not part of
    the identity (``key``).
    """

    model_config = ConfigDict(frozen=True)

    platform: Platform
    item_id: str
    sku_id: str | None = None

    @property
    def key(self) -> str:
        return f"{self.platform.value}:{self.item_id}"

    @property
    def canonical_url(self) -> str:
        """The item's URL rebuilt from (platform, id): never the user's string."""
        return _CANONICAL_URLS[self.platform].format(id=self.item_id)


class PriceRange(BaseModel):
    """A price in CNY as the upstream gives it; ``low == high`` for one price."""

    model_config = ConfigDict(frozen=True)

    low: Decimal
    high: Decimal

    @property
    def is_range(self) -> bool:
        return self.low != self.high


class PriceTier(BaseModel):
    """Wholesale pricing: ``price`` from ``min_quantity`` pieces on (1688)."""

    model_config = ConfigDict(frozen=True)

    min_quantity: int
    price: Decimal


class Option(BaseModel):
    """One value of a dimension, e.g. colour "Black"; ``key`` is ``"pid:vid"``."""

    model_config = ConfigDict(frozen=True)

    key: str
    label: str
    image: str | None = None


class Dimension(BaseModel):
    """A variant axis, e.g. colour or size, with its options in upstream order."""

    model_config = ConfigDict(frozen=True)

    pid: str
    name: str
    options: tuple[Option, ...]


class Sku(BaseModel):
    """One purchasable combination: one option key per dimension it covers."""

    model_config = ConfigDict(frozen=True)

    sku_id: str
    options: tuple[str, ...]
    price: Decimal | None = None
    original_price: Decimal | None = None
    stock: int | None = None
    weight_grams: Decimal | None = None  # when the payload gives the SKU's own


class Item(BaseModel):
    """A product as shown on a card. Image URLs are absolute ``https:`` URLs."""

    model_config = ConfigDict(frozen=True)

    platform: Platform
    item_id: str
    title: str
    price: PriceRange | None = None
    original_price: Decimal | None = None
    images: tuple[str, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()
    shop: str | None = None
    sales: int | None = None
    weight_grams: Decimal | None = None
    stock: int | None = None
    min_order: int | None = None
    unit: str | None = None
    price_tiers: tuple[PriceTier, ...] = ()
    location: str | None = None
    delivery_time: str | None = None
    dimensions: tuple[Dimension, ...] = ()
    skus: tuple[Sku, ...] = ()

    @property
    def ref(self) -> ItemRef:
        return ItemRef(platform=self.platform, item_id=self.item_id)
