"""The variant picker model: fixtures, odd payloads, and properties over random grids."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cards.picker import NOT_CHOSEN, Choice, VariantPicker
from bot.catbuy.payload import parse_item
from bot.items.item import Dimension, Item, Option, Platform, Sku
from tests.conftest import FIXTURES

ITEM_FIXTURES = [
    "taobao_two_dims",
    "taobao_en_real_pids",
    "tmall_one_dim_numeric",
    "1688_price_range",
    "weidian_single",
    "goofish_secondhand",
]


def fixture_picker(name: str) -> VariantPicker:
    return VariantPicker(parse_item(json.loads((FIXTURES / f"{name}.json").read_text())))


def make_item(
    dims: list[list[str]],
    skus: list[tuple[tuple[int, ...], str | None, int | None]],
    *,
    pids: list[str] | None = None,
    images: dict[tuple[int, int], str] | None = None,
) -> Item:
    """An item with option keys ``pid:vid``; SKUs given as option indices per dimension."""
    pids = pids or [str(d) for d in range(len(dims))]
    images = images or {}
    dimensions = tuple(
        Dimension(
            pid=pids[d],
            name=f"D{d}",
            options=tuple(
                Option(key=f"{pids[d]}:{i}", label=label, image=images.get((d, i)))
                for i, label in enumerate(labels)
            ),
        )
        for d, labels in enumerate(dims)
    )
    return Item(
        platform=Platform.TAOBAO,
        item_id="1",
        title="t",
        dimensions=dimensions,
        skus=tuple(
            Sku(
                sku_id=f"s{n}",
                options=tuple(f"{pids[d]}:{i}" for d, i in enumerate(combo)),
                price=None if price is None else Decimal(price),
                stock=stock,
            )
            for n, (combo, price, stock) in enumerate(skus)
        ),
    )


def unavailable(picker: VariantPicker, choice: Choice, dim: int) -> list[str]:
    return [s.option.label for s in picker.options(choice, dim) if not s.available]


# --- the fixtures ---------------------------------------------------------------


def test_taobao_two_dims_availability_follows_the_choice() -> None:
    picker = fixture_picker("taobao_two_dims")
    empty = picker.empty_choice()
    assert empty == (NOT_CHOSEN, NOT_CHOSEN)
    assert unavailable(picker, empty, 0) == []
    assert unavailable(picker, empty, 1) == []  # XL sells in 燕麦白
    black = picker.toggle(empty, 0, 0)
    assert unavailable(picker, black, 1) == ["XL"]
    assert unavailable(picker, black, 0) == []  # other colours stay choosable
    xl = picker.toggle(empty, 1, 3)
    assert unavailable(picker, xl, 0) == ["黑色", "雾霾蓝"]
    s = picker.toggle(empty, 1, 0)
    assert unavailable(picker, s, 0) == ["燕麦白"]


def test_taobao_two_dims_full_choice_finds_the_sku() -> None:
    picker = fixture_picker("taobao_two_dims")
    choice = picker.toggle(picker.toggle(picker.empty_choice(), 0, 1), 1, 1)  # 燕麦白, M
    assert picker.is_complete(choice)
    summary = picker.summary(choice)
    assert summary.sku is not None and summary.sku.sku_id == "5120034877111"
    assert summary.price is not None and summary.price.low == summary.price.high == Decimal("89")
    assert summary.original_price == Decimal("159")
    assert summary.stock == 123 and summary.in_stock
    assert summary.image is not None and "ColorOat" in summary.image
    assert [(d.name, o.label) for d, o in summary.chosen] == [("颜色分类", "燕麦白"), ("尺码", "M")]


def test_taobao_two_dims_partial_summary_ranges_over_what_sells() -> None:
    picker = fixture_picker("taobao_two_dims")
    black = picker.toggle(picker.empty_choice(), 0, 0)
    summary = picker.summary(black)
    assert summary.sku is None
    # Black XL (109.00) is sold out, so the range stops at L's 99.00.
    assert summary.price is not None
    assert (summary.price.low, summary.price.high) == (Decimal("89"), Decimal("99"))
    assert summary.stock == 37 + 120 + 8 + 0
    everything = picker.summary(picker.empty_choice())
    assert everything.stock == 37 + 120 + 8 + 0 + 0 + 123 + 11 + 59 + 43 + 126 + 14 + 0
    assert everything.image is None


def test_taobao_two_dims_sold_out_sku_from_a_link() -> None:
    picker = fixture_picker("taobao_two_dims")
    choice = picker.choice_for_sku("5120034877103")  # black XL, quantity "0"
    assert choice == (0, 3)
    summary = picker.summary(choice)
    assert summary.sku is not None and summary.sku.sku_id == "5120034877103"
    assert summary.stock == 0 and not summary.in_stock
    assert summary.price is not None and summary.price.low == Decimal("109")
    assert picker.choice_for_sku("nope") is None
    # Chosen yet sold out: un-choosing is allowed, the picker shows it unavailable.
    assert picker.can_toggle(choice, 1, 3)
    assert picker.toggle(choice, 1, 3) == (0, NOT_CHOSEN)


def test_taobao_real_pids() -> None:
    picker = fixture_picker("taobao_en_real_pids")
    assert [d.name for d in picker.dimensions] == ["Color", "Size"]
    khaki = picker.toggle(picker.empty_choice(), 0, 1)
    assert unavailable(picker, khaki, 1) == ["S", "M"]
    green_l = (2, 2)
    assert picker.summary(green_l).stock == 0
    assert not picker.can_toggle((2, NOT_CHOSEN), 1, 2)
    full = picker.summary((0, 4))  # Black XXL
    assert full.sku is not None and full.sku.sku_id == "4410023390104"
    assert full.stock == 2 and full.price is not None and full.price.low == Decimal("178")


def test_tmall_one_dimension() -> None:
    picker = fixture_picker("tmall_one_dim_numeric")
    assert len(picker.dimensions) == 1
    assert unavailable(picker, picker.empty_choice(), 0) == ["Glacier White"]
    sage = picker.toggle(picker.empty_choice(), 0, 2)
    assert picker.is_complete(sage)
    summary = picker.summary(sage)
    assert summary.sku is not None and summary.sku.sku_id == "5003"
    assert summary.stock == 61 and summary.original_price is None
    assert summary.image is None  # no props_img


def test_1688_three_dimensions() -> None:
    picker = fixture_picker("1688_price_range")
    assert len(picker.dimensions) == 3
    grey_large = (1, 2, NOT_CHOSEN)
    assert unavailable(picker, grey_large, 2) == ["彩盒装"]
    assert unavailable(picker, (0, 2, NOT_CHOSEN), 2) == []
    summary = picker.summary(grey_large)
    assert summary.stock == 2500
    assert summary.price is not None and summary.price.low == summary.price.high == Decimal("26")
    full = picker.summary((1, 2, 0))
    assert full.sku is not None and full.sku.sku_id == "5288100472420"


@pytest.mark.parametrize("name", ["weidian_single", "goofish_secondhand"])
def test_items_without_skus_have_no_variants(name: str) -> None:
    picker = fixture_picker(name)
    assert not picker.has_variants
    assert picker.empty_choice() == ()
    assert picker.validate(())
    assert not picker.is_complete(())


@pytest.mark.parametrize("name", ITEM_FIXTURES)
def test_every_fixture_sku_is_found_by_its_choice(name: str) -> None:
    picker = fixture_picker(name)
    for sku in picker.skus:
        choice = picker.choice_for_sku(sku.sku_id)
        assert choice is not None and picker.validate(choice) and picker.is_complete(choice)
        assert picker.summary(choice).sku == sku


# --- odd payloads ----------------------------------------------------------------


def test_negative_seller_ids() -> None:
    item = make_item(
        [["red", "blue"], ["S", "M"]],
        [((0, 0), "10", 1), ((0, 1), "11", 0), ((1, 0), "12", 5), ((1, 1), "13", 0)],
        pids=["-1", "-2"],
    )
    assert item.skus[0].options == ("-1:0", "-2:0")
    picker = VariantPicker(item)
    assert picker.has_variants
    assert unavailable(picker, picker.empty_choice(), 1) == ["M"]
    assert picker.summary((1, 0)).stock == 5


def test_options_without_skus_are_shown_unavailable() -> None:
    item = make_item([["a", "b", "ghost"]], [((0,), "1", 3), ((1,), "2", 4)])
    picker = VariantPicker(item)
    states = picker.options(picker.empty_choice(), 0)
    assert [s.option.label for s in states] == ["a", "b", "ghost"]
    assert [s.available for s in states] == [True, True, False]
    assert not picker.can_toggle(picker.empty_choice(), 0, 2)
    lone = picker.summary((2,))
    assert lone.sku is None and lone.stock == 0 and not lone.in_stock and lone.price is None


def test_skus_naming_unknown_options_are_ignored() -> None:
    item = make_item([["a", "b"]], [((0,), "1", 3), ((1,), "2", 4)])
    stray = Sku(sku_id="stray", options=("0:9",), price=Decimal("0.01"), stock=99)
    double = Sku(sku_id="double", options=("0:0", "0:1"), price=Decimal("0.01"), stock=99)
    picker = VariantPicker(item.model_copy(update={"skus": (*item.skus, stray, double)}))
    assert [s.sku_id for s in picker.skus] == ["s0", "s1"]
    assert picker.choice_for_sku("stray") is None
    assert picker.summary(picker.empty_choice()).stock == 7


def test_skus_of_another_shape_are_ignored() -> None:
    item = make_item(
        [["a", "b"], ["S", "M"]], [((0, 0), "1", 3), ((1, 1), "2", 4), ((0, 1), "3", 0)]
    )
    partial = Sku(sku_id="partial", options=("0:1",), price=Decimal("9"), stock=50)
    picker = VariantPicker(item.model_copy(update={"skus": (*item.skus, partial)}))
    assert len(picker.dimensions) == 2
    assert picker.choice_for_sku("partial") is None
    assert picker.summary(picker.empty_choice()).stock == 7


def test_dimensions_no_sku_uses_are_dropped() -> None:
    item = make_item([["a", "b"], ["only"]], [((0, 0), "1", 3), ((1, 0), "2", 4)])
    one_dim = item.model_copy(
        update={"skus": tuple(s.model_copy(update={"options": s.options[:1]}) for s in item.skus)}
    )
    picker = VariantPicker(one_dim)
    assert [d.name for d in picker.dimensions] == ["D0"]
    assert picker.summary((1,)).sku is not None


def test_unknown_stock_counts_as_available() -> None:
    item = make_item([["a", "b"]], [((0,), "1", None), ((1,), "2", 0)])
    picker = VariantPicker(item)
    assert unavailable(picker, picker.empty_choice(), 0) == ["b"]
    assert picker.summary(picker.empty_choice()).stock is None
    assert picker.summary((0,)).stock is None and picker.summary((0,)).in_stock


def test_duplicate_combinations_prefer_the_one_for_sale() -> None:
    item = make_item([["a"]], [((0,), "1", 0), ((0,), "2", 6)])
    summary = VariantPicker(item).summary((0,))
    assert summary.sku is not None and summary.sku.sku_id == "s1"


def test_all_sold_out_falls_back_to_the_full_range() -> None:
    item = make_item([["a", "b"]], [((0,), "1", 0), ((1,), "5", 0)])
    summary = VariantPicker(item).summary((NOT_CHOSEN,))
    assert not summary.in_stock and summary.stock == 0
    assert summary.price is not None and (summary.price.low, summary.price.high) == (
        Decimal(1),
        Decimal(5),
    )


def test_image_of_the_last_chosen_dimension_with_one() -> None:
    item = make_item(
        [["a", "b"], ["S", "M"], ["x"]],
        [((i, j, 0), "1", 1) for i in range(2) for j in range(2)],
        images={(0, 0): "https://img/a", (1, 1): "https://img/M"},
    )
    picker = VariantPicker(item)
    assert picker.summary((0, NOT_CHOSEN, NOT_CHOSEN)).image == "https://img/a"
    assert picker.summary((0, 1, NOT_CHOSEN)).image == "https://img/M"
    assert picker.summary((0, 0, 0)).image == "https://img/a"
    assert picker.summary((1, 0, 0)).image is None


def test_toggle_and_validate() -> None:
    picker = VariantPicker(make_item([["a", "b"], ["S"]], [((0, 0), "1", 1), ((1, 0), "1", 1)]))
    choice = picker.toggle(picker.empty_choice(), 0, 0)
    assert choice == (0, NOT_CHOSEN)
    assert picker.toggle(choice, 0, 1) == (1, NOT_CHOSEN)  # replaces
    assert picker.toggle(choice, 0, 0) == (NOT_CHOSEN, NOT_CHOSEN)  # un-chooses
    assert picker.validate((1, 0)) and picker.validate((-1, -1))
    for bad in [(), (0,), (0, 0, 0), (2, 0), (0, 1), (-2, 0)]:
        assert not picker.validate(bad)
    for dim, opt in [(2, 0), (-1, 0), (0, 2), (0, -1), (1, 1)]:
        with pytest.raises(ValueError):
            picker.toggle(choice, dim, opt)
    with pytest.raises(ValueError):
        picker.toggle((5, 5), 0, 0)


def test_no_dimensions_but_skus() -> None:
    item = make_item([], [])
    item = item.model_copy(update={"skus": (Sku(sku_id="x", options=(), stock=3),)})
    picker = VariantPicker(item)
    assert not picker.has_variants and picker.dimensions == ()


# --- properties over random grids ---------------------------------------------------

STOCK = st.one_of(st.none(), st.just(0), st.integers(1, 50))


@st.composite
def grids(draw: st.DrawFn) -> tuple[Item, list[tuple[tuple[int, ...], int | None]]]:
    sizes = draw(st.lists(st.integers(1, 5), min_size=1, max_size=4))
    combos = list(itertools.product(*(range(n) for n in sizes)))
    chosen = draw(st.lists(st.sampled_from(combos), unique=True, max_size=len(combos)))
    rows = [(combo, draw(STOCK)) for combo in chosen]
    item = make_item(
        [[f"o{d}.{i}" for i in range(n)] for d, n in enumerate(sizes)],
        [(combo, str(10 + n), stock) for n, (combo, stock) in enumerate(rows)],
    )
    return item, rows


def sells(stock: int | None) -> bool:
    return stock is None or stock > 0


@settings(max_examples=200, deadline=None)
@given(grid=grids(), data=st.data())
def test_available_means_some_in_stock_sku_fits(
    grid: tuple[Item, list[tuple[tuple[int, ...], int | None]]], data: st.DataObject
) -> None:
    item, rows = grid
    picker = VariantPicker(item)
    assert picker.has_variants == bool(rows)
    if not rows:
        return
    choice = tuple(
        data.draw(st.integers(NOT_CHOSEN, len(d.options) - 1)) for d in picker.dimensions
    )
    for dim in range(len(choice)):
        for state in picker.options(choice, dim):
            fits = [
                stock
                for combo, stock in rows
                if combo[dim] == state.index
                and all(c in (NOT_CHOSEN, combo[d]) for d, c in enumerate(choice) if d != dim)
            ]
            assert state.available == any(sells(s) for s in fits)
            assert state.chosen == (choice[dim] == state.index)


@settings(max_examples=200, deadline=None)
@given(grid=grids(), data=st.data())
def test_every_in_stock_sku_is_reachable_in_any_order(
    grid: tuple[Item, list[tuple[tuple[int, ...], int | None]]], data: st.DataObject
) -> None:
    item, rows = grid
    picker = VariantPicker(item)
    for n, (combo, stock) in enumerate(rows):
        if not sells(stock):
            continue
        choice = picker.empty_choice()
        for dim in data.draw(st.permutations(range(len(combo)))):
            assert picker.can_toggle(choice, dim, combo[dim])
            choice = picker.toggle(choice, dim, combo[dim])
            assert picker.summary(choice).in_stock
        summary = picker.summary(choice)
        assert summary.sku is not None and summary.sku.sku_id == f"s{n}"
        assert summary.stock == stock
