"""The picker's keyboard rows and caption lines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from itertools import islice, product

import pytest
from aiogram.types import InlineKeyboardButton
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cards.picker import NOT_CHOSEN, VariantPicker
from bot.cards.picker_view import (
    LONG_LABEL,
    columns,
    format_price,
    page_of,
    page_sizes,
    picker_caption_lines,
    picker_rows,
    trim,
)
from bot.catbuy.payload import parse_item
from bot.i18n.user_locale import create_i18n
from bot.items.item import Dimension, Item, Option, Platform, Sku
from bot.telegram.callbacks import CardAct, CardTap, card_tap
from tests.conftest import FIXTURES

TOKEN = "AbC-_123xyz0"
BUDGET = 94  # Telegram's 100 less the card's own buttons


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("en"):
        yield


def fixture_picker(name: str) -> VariantPicker:
    return VariantPicker(parse_item(json.loads((FIXTURES / f"{name}.json").read_text())))


def grid(labels: list[list[str]], stock: int | None = 5) -> VariantPicker:
    """The combinations of the options (the first 500) exist, all with ``stock``."""
    dims = tuple(
        Dimension(
            pid=str(d),
            name=f"Dim{d}",
            options=tuple(Option(key=f"{d}:{i}", label=lab) for i, lab in enumerate(opts)),
        )
        for d, opts in enumerate(labels)
    )
    combos = list(islice(product(*(range(len(opts)) for opts in labels)), 500))
    skus = tuple(
        Sku(
            sku_id=str(n),
            options=tuple(f"{d}:{i}" for d, i in enumerate(c)),
            price=Decimal(10 + n),
            stock=stock,
        )
        for n, c in enumerate(combos)
    )
    return VariantPicker(
        Item(platform=Platform.TMALL, item_id="9", title="t", dimensions=dims, skus=skus)
    )


def taps(rows: list[list[InlineKeyboardButton]]) -> list[tuple[str, CardTap]]:
    out = []
    for row in rows:
        for button in row:
            assert button.callback_data is not None
            out.append((button.text, CardTap.unpack(button.callback_data)))
    return out


def check_limits(rows: list[list[InlineKeyboardButton]], max_buttons: int = BUDGET) -> None:
    assert sum(len(row) for row in rows) <= max_buttons
    for row in rows:
        assert 1 <= len(row) <= 8
        for button in row:
            assert button.text.strip()
            assert button.callback_data is not None
            assert len(button.callback_data.encode()) <= 64


@pytest.mark.parametrize("act", list(CardAct))
def test_card_tap_is_what_card_tap_pack_gives(act: CardAct) -> None:
    assert card_tap(TOKEN, act) == CardTap(token=TOKEN, act=act).pack()
    for dim, opt in [(0, 0), (1, 7), (0, -1), (93, 199), (3, 10**9)]:
        tap = CardTap(token=TOKEN, act=act, dim=dim, opt=opt)
        assert card_tap(TOKEN, act, dim=dim, opt=opt) == tap.pack()
        assert CardTap.unpack(card_tap(TOKEN, act, dim=dim, opt=opt)) == tap


@settings(max_examples=300, deadline=None)
@given(
    token=st.text(st.sampled_from("aZ09-_:é长") | st.characters(), max_size=70),
    act=st.sampled_from(CardAct),
    dim=st.integers(-(10**3), 10**30),
    opt=st.integers(-(10**3), 10**30),
)
def test_card_tap_packs_and_refuses_as_card_tap_does(
    token: str, act: CardAct, dim: int, opt: int
) -> None:
    try:
        packed = CardTap(token=token, act=act, dim=dim, opt=opt).pack()
    except ValueError:  # a separator in the token, or over 64 bytes
        with pytest.raises(ValueError):
            card_tap(token, act, dim=dim, opt=opt)
    else:
        assert card_tap(token, act, dim=dim, opt=opt) == packed


def test_columns_count_wide_characters_twice() -> None:
    assert columns("XXL 2") == 5
    assert columns("黑色 XL") == 7
    assert columns("Ｍ码") == 4  # a full-width Latin letter too
    assert columns("Café") == 4


def test_format_price() -> None:
    assert format_price(Decimal("89")) == "¥89.00"
    assert format_price(Decimal("89"), Decimal("89.0")) == "¥89.00"
    assert format_price(Decimal("89"), Decimal("109.5")) == "¥89.00 – 109.50"
    assert format_price(Decimal("0.125")) == "¥0.12"


def test_taobao_two_dims_keyboard() -> None:
    picker = fixture_picker("taobao_two_dims")
    rows = picker_rows(picker, picker.empty_choice(), (0, 0), TOKEN, max_buttons=BUDGET)
    check_limits(rows)
    assert [[b.text for b in row] for row in rows] == [
        ["颜色分类"],
        ["黑色", "燕麦白", "雾霾蓝"],
        ["尺码"],
        ["S", "M", "L", "XL"],
    ]
    found = taps(rows)
    assert {t.act for _, t in found} == {CardAct.NOOP, CardAct.OPTION}
    assert all(t.token == TOKEN for _, t in found)
    options = [(t.dim, t.opt) for _, t in found if t.act is CardAct.OPTION]
    assert options == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (1, 3)]


def test_chosen_and_unavailable_marks_and_reset() -> None:
    picker = fixture_picker("taobao_two_dims")
    rows = picker_rows(picker, (0, NOT_CHOSEN), (0, 0), TOKEN, max_buttons=BUDGET)
    check_limits(rows)
    texts = [b.text for row in rows for b in row]
    assert "✅ 黑色" in texts and "燕麦白" in texts
    assert "✖ XL" in texts and "L" in texts
    last = taps([rows[-1]])
    assert [t.act for _, t in last] == [CardAct.RESET]
    assert "Reset" in last[0][0]
    empty = picker_rows(picker, (NOT_CHOSEN, NOT_CHOSEN), (0, 0), TOKEN, max_buttons=BUDGET)
    assert all(t.act is not CardAct.RESET for _, t in taps(empty))


def test_no_rows_without_variants_or_for_a_bad_choice() -> None:
    assert picker_rows(fixture_picker("weidian_single"), (), (), TOKEN, max_buttons=BUDGET) == []
    picker = fixture_picker("taobao_two_dims")
    assert picker_rows(picker, (7, 0), (0, 0), TOKEN, max_buttons=BUDGET) == []
    assert picker_caption_lines(picker, (0,)) == []


def test_thirty_sizes_page_evenly() -> None:
    picker = grid([["Black", "White", "Red"], [f"EU {n}" for n in range(30)]])
    assert page_sizes(picker, max_buttons=BUDGET) == [3, 15]  # two pages of 15
    tight = page_sizes(picker, max_buttons=30)
    assert tight[0] == 3 and tight[1] < 20
    seen: set[int] = set()
    page = 0
    for _ in range(2):
        rows = picker_rows(picker, picker.empty_choice(), (0, page), TOKEN, max_buttons=30)
        check_limits(rows, 30)
        found = taps(rows)
        headers = [text for text, t in found if t.act is CardAct.NOOP]
        assert headers[1].startswith("Dim1 · ") and headers[1].endswith("/2")
        seen |= {t.opt for _, t in found if t.act is CardAct.OPTION and t.dim == 1}
        pager = [t for _, t in found if t.act is CardAct.PAGE]
        assert {t.dim for t in pager} == {1}
        page = pager[-1].opt  # ▶
    assert seen == set(range(30))
    assert page == 0  # ▶ on the last page wraps to the first


def test_out_of_range_page_wraps() -> None:
    picker = grid([[f"{n}" for n in range(30)]])

    def texts(page: int) -> list[str]:
        rows = picker_rows(picker, picker.empty_choice(), (page,), TOKEN, max_buttons=20)
        check_limits(rows, 20)
        return [b.text for row in rows for b in row]

    assert texts(10**6) == texts(0)  # two pages: even pages are the first
    assert texts(10**6 + 1) == texts(1) != texts(0)


def test_ten_by_twelve_grid_fits_without_paging() -> None:
    picker = grid([[f"Colour {n}" for n in range(10)], [f"{n}" for n in range(12)]])
    rows = picker_rows(picker, (3, 4), (0, 0), TOKEN, max_buttons=BUDGET)
    check_limits(rows)
    options = [t for _, t in taps(rows) if t.act is CardAct.OPTION]
    assert len(options) == 22


def test_page_of_shows_the_chosen_option() -> None:
    picker = grid([["a", "b"], [f"S{n}" for n in range(30)]])
    choice = (1, 27)
    pages = page_of(picker, choice, max_buttons=BUDGET)
    rows = picker_rows(picker, choice, pages, TOKEN, max_buttons=BUDGET)
    assert "✅ S27" in [b.text for row in rows for b in row]


def test_long_labels_are_trimmed_and_get_their_own_row() -> None:
    long = "超长的颜色名称" * 10
    picker = grid([[long, "short"]])
    rows = picker_rows(picker, picker.empty_choice(), (0,), TOKEN, max_buttons=BUDGET)
    option_rows = rows[1:]
    assert all(len(row) == 1 for row in option_rows)
    assert columns(option_rows[0][0].text) <= LONG_LABEL
    assert option_rows[0][0].text.endswith("…")
    assert trim("abcdef", 4) == "abc…" and trim("abc", 4) == "abc"


def test_short_labels_share_rows_evenly() -> None:
    picker = grid([["S", "M", "L", "XL", "2XL", "3XL", "4XL"]])
    rows = picker_rows(picker, picker.empty_choice(), (0,), TOKEN, max_buttons=BUDGET)
    assert [len(row) for row in rows[1:]] == [4, 3]


def test_many_dimensions_stay_within_the_budget() -> None:
    picker = grid([["a", "b"]] * 6)
    rows = picker_rows(picker, picker.empty_choice(), (0,) * 6, TOKEN, max_buttons=12)
    check_limits(rows, 12)


def test_caption_for_a_full_choice() -> None:
    picker = fixture_picker("taobao_two_dims")
    lines = picker_caption_lines(picker, (1, 1))
    assert lines[0] == "🎯 颜色分类: 燕麦白 · 尺码: M"
    assert "Variant price: <b>¥89.00</b>" in lines[1] and "<s>¥159.00</s>" in lines[1]
    assert "In stock: 123" in lines[2]
    assert len(lines) == 3


def test_caption_for_a_sold_out_sku() -> None:
    lines = picker_caption_lines(fixture_picker("taobao_two_dims"), (0, 3))
    assert "¥109.00" in lines[1]
    assert "Out of stock" in lines[2]
    assert not any("In stock" in line for line in lines)


def test_caption_for_a_partial_choice() -> None:
    picker = fixture_picker("taobao_two_dims")
    lines = picker_caption_lines(picker, (0, NOT_CHOSEN))
    assert lines[0] == "🎯 颜色分类: 黑色"
    assert "Price range: <b>¥89.00 – 99.00</b>" in lines[1]
    assert "In stock: 165" in lines[2]
    assert "尺码" in lines[3]
    nothing = picker_caption_lines(picker, picker.empty_choice())
    assert not any("¥" in line for line in nothing)  # the card's own price stands
    assert "In stock: 541" in nothing[0]


def test_a_dimension_the_upstream_left_unnamed_is_an_option() -> None:
    # props_list values without "Name:" (e.g. {"0:0": "Matte Black"}) name no dimension.
    named = grid([["Matte Black", "Silver"], ["S", "M"]])
    unnamed = tuple(d.model_copy(update={"name": ""}) for d in named.dimensions)
    picker = VariantPicker(
        Item(platform=Platform.TMALL, item_id="9", title="t", dimensions=unnamed, skus=named.skus)
    )
    chosen = picker_caption_lines(picker, (0, NOT_CHOSEN))
    assert chosen[0] == "🎯 Option: Matte Black"
    assert chosen[-1] == "👇 Choose Option"  # one word for both unnamed dimensions' choice
    headers = [
        text
        for text, tap in taps(
            picker_rows(picker, (0, NOT_CHOSEN), (0, 0), TOKEN, max_buttons=BUDGET)
        )
        if tap.act is CardAct.NOOP
    ]
    assert headers == ["Option", "Option"]


def test_caption_escapes_upstream_text() -> None:
    picker = grid([["<b>Red</b> & co"]])
    lines = picker_caption_lines(picker, (0,))
    assert "&lt;b&gt;Red&lt;/b&gt; &amp; co" in lines[0]
    assert "<b>Red" not in "".join(lines)


# --- properties ----------------------------------------------------------------------

LABELS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0, max_size=60
)


@settings(max_examples=150, deadline=None)
@given(
    labels=st.lists(st.lists(LABELS, min_size=1, max_size=40), min_size=1, max_size=4),
    data=st.data(),
)
def test_keyboard_always_within_telegram_limits(
    labels: list[list[str]], data: st.DataObject
) -> None:
    picker = grid(labels, stock=data.draw(st.sampled_from([0, 3, None])))
    choice = tuple(
        data.draw(st.integers(NOT_CHOSEN, len(d.options) - 1)) for d in picker.dimensions
    )
    pages = tuple(data.draw(st.integers(0, 10**9)) for _ in picker.dimensions)
    token = data.draw(st.text(alphabet="ABCxyz019-_", min_size=12, max_size=12))
    rows = picker_rows(picker, choice, pages, token, max_buttons=BUDGET)
    check_limits(rows)
    # Paging through every dimension shows every option.
    sizes = page_sizes(picker, max_buttons=BUDGET)
    for d, dim in enumerate(picker.dimensions):
        seen: set[int] = set()
        for page in range(-(-len(dim.options) // sizes[d])):
            turned = (*pages[:d], page, *pages[d + 1 :])
            rows = picker_rows(picker, choice, turned, token, max_buttons=BUDGET)
            seen |= {t.opt for _, t in taps(rows) if t.act is CardAct.OPTION and t.dim == d}
        assert seen == set(range(len(dim.options)))
