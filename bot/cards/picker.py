"""The variant picker: which options of an item remain possible, and at what price.

Pure model, no Telegram. A *choice* holds, per picker dimension, the index of
the chosen option or ``-1``. Rules for payloads that do not line up:

- Options listed by a dimension but used by no SKU stay in the picker and are
  always unavailable, so the shopper sees the seller's full list.
- A SKU naming an option key no dimension lists, naming two options of one
  dimension, or covering a different set of dimensions than most SKUs do, is
  ignored by the picker (it cannot be reached by tapping).
- Dimensions no usable SKU names, and dimensions without options, are dropped.
- Stock ``None`` means unknown and counts as available.

Availability is answered with bitsets (one Python int per option, one bit per
SKU), so a 10 × 12 grid answers every dimension in microseconds.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from bot.items.item import Dimension, Item, Option, PriceRange, Sku

Choice = tuple[int, ...]
NOT_CHOSEN = -1


@dataclass(frozen=True, slots=True)
class OptionState:
    """One option as the picker shows it under a given choice."""

    index: int
    option: Option
    chosen: bool
    available: bool


@dataclass(frozen=True, slots=True)
class PickerSummary:
    """What is still possible under a choice.

    ``price`` is the chosen SKU's price once complete, else the range over the
    compatible in-stock SKUs (all compatible SKUs when none is in stock).
    ``stock`` is the chosen SKU's stock, else the total of the compatible SKUs;
    ``None`` when some of them do not say. ``in_stock`` is False only when every
    compatible SKU is known to be sold out.
    """

    price: PriceRange | None
    original_price: Decimal | None
    stock: int | None
    in_stock: bool
    sku: Sku | None
    image: str | None
    chosen: tuple[tuple[Dimension, Option], ...]


class VariantPicker:
    """The picker model of one item; cheap to build, immutable once built."""

    def __init__(self, item: Item) -> None:
        dims = [d for d in item.dimensions if d.options]
        where: dict[str, tuple[int, int]] = {}
        for d, dim in enumerate(dims):
            for i, option in enumerate(dim.options):
                where.setdefault(option.key, (d, i))

        named: list[tuple[Sku, dict[int, int]]] = []
        for sku in item.skus:
            picks = _locate(sku, where)
            if picks:
                named.append((sku, picks))
        # The dimension set most SKUs cover is the item's true shape.
        shape = Counter(frozenset(picks) for _, picks in named).most_common(1)
        used = sorted(shape[0][0]) if shape else []

        self.dimensions: tuple[Dimension, ...] = tuple(dims[d] for d in used)
        self.skus: tuple[Sku, ...] = ()
        self._combos: list[Choice] = []
        skus: list[Sku] = []
        for sku, picks in named:
            if set(picks) == set(used):
                skus.append(sku)
                self._combos.append(tuple(picks[d] for d in used))
        self.skus = tuple(skus)

        self._masks: list[list[int]] = [[0] * len(dim.options) for dim in self.dimensions]
        self._all = (1 << len(skus)) - 1
        self._in_stock = 0
        for bit, (sku, combo) in enumerate(zip(skus, self._combos, strict=True)):
            for d, i in enumerate(combo):
                self._masks[d][i] |= 1 << bit
            if sku.stock is None or sku.stock > 0:
                self._in_stock |= 1 << bit
        self._by_id = {sku.sku_id: combo for sku, combo in zip(skus, self._combos, strict=True)}
        # A card asks for the summary of one choice three times (photo, caption, state).
        self._summaries: dict[Choice, PickerSummary] = {}

    @property
    def has_variants(self) -> bool:
        """True when there is something to pick: a dimension and a usable SKU."""
        return bool(self.dimensions) and bool(self.skus)

    def empty_choice(self) -> Choice:
        return (NOT_CHOSEN,) * len(self.dimensions)

    def validate(self, choice: Choice) -> bool:
        """Right length and every index in range (``-1`` allowed)."""
        return len(choice) == len(self.dimensions) and all(
            NOT_CHOSEN <= c < len(dim.options)
            for c, dim in zip(choice, self.dimensions, strict=True)
        )

    def is_complete(self, choice: Choice) -> bool:
        return bool(choice) and all(c != NOT_CHOSEN for c in choice)

    def options(self, choice: Choice, dim: int) -> list[OptionState]:
        """The options of ``dim``; available = some in-stock SKU fits the rest of the choice."""
        fits = self._compatible(choice, skip=dim) & self._in_stock
        return [
            OptionState(
                index=i,
                option=option,
                chosen=choice[dim] == i,
                available=bool(fits & self._masks[dim][i]),
            )
            for i, option in enumerate(self.dimensions[dim].options)
        ]

    def is_available(self, choice: Choice, dim: int, opt: int) -> bool:
        fits = self._compatible(choice, skip=dim) & self._in_stock
        return bool(fits & self._masks[dim][opt])

    def can_toggle(self, choice: Choice, dim: int, opt: int) -> bool:
        """A tap may un-choose anything, and choose only an available option."""
        return choice[dim] == opt or self.is_available(choice, dim, opt)

    def toggle(self, choice: Choice, dim: int, opt: int) -> Choice:
        """Choose ``opt`` in ``dim`` (replacing), or un-choose it when already chosen."""
        if not self.validate(choice) or not 0 <= dim < len(choice):
            raise ValueError("choice or dimension out of range")
        if not 0 <= opt < len(self.dimensions[dim].options):
            raise ValueError("option out of range")
        picked = NOT_CHOSEN if choice[dim] == opt else opt
        return (*choice[:dim], picked, *choice[dim + 1 :])

    def choice_for_sku(self, sku_id: str) -> Choice | None:
        """The full choice naming ``sku_id`` (a link's ``skuId=``), if the picker knows it."""
        return self._by_id.get(sku_id)

    def summary(self, choice: Choice) -> PickerSummary:
        summary = self._summaries.get(choice)
        if summary is None:
            summary = self._summaries[choice] = self._summarize(choice)
        return summary

    def _summarize(self, choice: Choice) -> PickerSummary:
        mask = self._compatible(choice, skip=None)
        chosen = tuple(
            (dim, dim.options[c])
            for dim, c in zip(self.dimensions, choice, strict=True)
            if c != NOT_CHOSEN
        )
        image = next((opt.image for _, opt in reversed(chosen) if opt.image), None)
        sku = self._sku_for(mask) if self.is_complete(choice) else None
        if sku is not None:
            price = None if sku.price is None else PriceRange(low=sku.price, high=sku.price)
            return PickerSummary(
                price=price,
                original_price=sku.original_price,
                stock=sku.stock,
                in_stock=sku.stock is None or sku.stock > 0,
                sku=sku,
                image=image,
                chosen=chosen,
            )
        members = self._members(mask)
        selling = self._members(mask & self._in_stock)
        stocks = [s.stock for s in members]
        return PickerSummary(
            price=_price_range(selling or members),
            original_price=None,
            stock=None if None in stocks else sum(s for s in stocks if s is not None),
            in_stock=bool(selling),
            sku=None,
            image=image,
            chosen=chosen,
        )

    def _compatible(self, choice: Choice, skip: int | None) -> int:
        mask = self._all
        for d, c in enumerate(choice):
            if c != NOT_CHOSEN and d != skip:
                mask &= self._masks[d][c]
        return mask

    def _members(self, mask: int) -> list[Sku]:
        return [sku for bit, sku in enumerate(self.skus) if mask >> bit & 1]

    def _sku_for(self, mask: int) -> Sku | None:
        # Duplicated combinations happen; prefer one that is for sale.
        selling = self._members(mask & self._in_stock)
        members = selling or self._members(mask)
        return members[0] if members else None


def _locate(sku: Sku, where: dict[str, tuple[int, int]]) -> dict[int, int] | None:
    """Dimension → option index for each key of ``sku``; None when it cannot be placed."""
    picks: dict[int, int] = {}
    for key in sku.options:
        place = where.get(key)
        if place is None or picks.get(place[0], place[1]) != place[1]:
            return None
        picks[place[0]] = place[1]
    return picks or None


def _price_range(skus: list[Sku]) -> PriceRange | None:
    prices = [s.price for s in skus if s.price is not None]
    return PriceRange(low=min(prices), high=max(prices)) if prices else None
