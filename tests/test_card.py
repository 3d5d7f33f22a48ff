"""Card rendering: every fixture, the caption limit, escaping, the keyboard's limits."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from aiogram.utils.i18n import I18n
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cards.picker import VariantPicker
from bot.cards.rendering import VARIANT_PHOTO, render_caption, render_card, visible_length
from bot.cards.state import CardState
from bot.catbuy.payload import parse_item
from bot.i18n.user_locale import create_i18n
from bot.items.item import Item, PriceRange
from bot.telegram.callbacks import CardTap
from tests.conftest import FIXTURES
from tests.test_picker import make_item

ITEM_FIXTURES = sorted(
    p for p in FIXTURES.glob("*.json") if "num_iid" in json.loads(p.read_text()).get("data", {})
)
TOKEN = "AbCdEfGhIjKl"


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return create_i18n()


def state_for(item: Item, **changes: object) -> CardState:
    picker = VariantPicker(item)
    state = CardState(
        item=item,
        lang="en",
        choice=picker.empty_choice(),
        pages=tuple(0 for _ in picker.dimensions),
        source_url=item.ref.canonical_url,
    )
    return state.model_copy(update=changes)


def load(name: str) -> Item:
    return parse_item(json.loads((FIXTURES / name).read_text()))


@pytest.mark.parametrize("path", ITEM_FIXTURES, ids=lambda p: Path(p).stem)
def test_every_fixture_renders_within_telegram_limits(path: Path, i18n: I18n) -> None:
    item = parse_item(json.loads(path.read_text()))
    with i18n.context(), i18n.use_locale("en"):
        view = render_card(state_for(item), TOKEN, buy_url_template="https://a.example/?u={url}")
    assert visible_length(view.caption) <= 1024
    assert item.title[:20].replace("&", "&amp;").replace("<", "&lt;") in view.caption
    rows = view.keyboard.inline_keyboard
    assert sum(len(r) for r in rows) <= 100 and all(len(r) <= 8 for r in rows)
    for button in (b for r in rows for b in r):
        assert button.url or len(button.callback_data.encode()) <= 64
    assert view.photo is None or view.photo.startswith("https://")


@pytest.mark.parametrize("path", ITEM_FIXTURES, ids=lambda p: Path(p).stem)
def test_the_callers_picker_gives_the_same_card(path: Path, i18n: I18n) -> None:
    item = parse_item(json.loads(path.read_text()))
    picker = VariantPicker(item)
    chosen = tuple(0 for _ in picker.dimensions)
    with i18n.context(), i18n.use_locale("en"):
        for state in (state_for(item), state_for(item, choice=chosen, photo=VARIANT_PHOTO)):
            built = render_card(state, TOKEN, buy_url_template=None)
            assert render_card(state, TOKEN, buy_url_template=None, picker=picker) == built


@settings(max_examples=150, deadline=None)
@given(
    title=st.text(st.characters(codec="utf-8"), max_size=1500),
    attributes=st.lists(
        st.tuples(st.text(min_size=1, max_size=30), st.text(min_size=1, max_size=60)), max_size=4
    ),
    limit=st.sampled_from([200, 1024, 4096]),
)
def test_any_title_and_attributes_fit_the_limit_and_show_when_they_fit(
    title: str, attributes: list[tuple[str, str]], limit: int
) -> None:
    item = load("taobao_two_dims.json").model_copy(
        update={"title": title, "attributes": tuple(attributes)}
    )
    picker = VariantPicker(item)
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("en"):
        caption = render_caption(state_for(item), picker, limit=limit)
        bare = render_caption(
            state_for(item.model_copy(update={"attributes": ()})), picker, limit=limit
        )
    assert visible_length(caption) <= limit
    if caption != bare:  # the attribute line was added: only because it fits
        assert caption.startswith(bare + "\n")


def test_the_attribute_line_shows_exactly_when_it_fits(i18n: I18n) -> None:
    item = load("taobao_two_dims.json").model_copy(
        update={"title": "Linen shirt", "attributes": (("Material", "linen"),)}
    )
    picker = VariantPicker(item)
    with i18n.context(), i18n.use_locale("en"):
        full = render_caption(state_for(item), picker, limit=4096)
        bare, line = full.rsplit("\n", 1)
        edge = visible_length(full)
        assert render_caption(state_for(item), picker, limit=edge) == full
        assert render_caption(state_for(item), picker, limit=edge - 1) == bare
    assert line.startswith("ℹ️ Material: linen")


def test_long_title_is_cut_and_marked(i18n: I18n) -> None:
    item = load("taobao_two_dims.json").model_copy(update={"title": "长" * 3000})
    with i18n.context(), i18n.use_locale("en"):
        view = render_card(state_for(item), TOKEN, buy_url_template=None)
    assert visible_length(view.caption) <= 1024
    assert "…" in view.caption and "¥89.00 – 109.00" in view.caption


@pytest.mark.parametrize("chosen", [True, False], ids=["all chosen", "none chosen"])
def test_many_long_dimensions_leave_the_title_and_the_price_their_room(
    chosen: bool, i18n: I18n
) -> None:
    count = 20
    item = make_item(
        [["颜色分类很长的选项名称" * 6] for _ in range(count)], [((0,) * count, "19.90", 5)]
    )
    item = item.model_copy(
        update={
            "title": "Winter jacket with a hood",
            "dimensions": tuple(
                d.model_copy(update={"name": f"{n}号规格名称" * 12})
                for n, d in enumerate(item.dimensions)
            ),
        }
    )
    choice = (0,) * count if chosen else VariantPicker(item).empty_choice()
    with i18n.context(), i18n.use_locale("en"):
        view = render_card(state_for(item, choice=choice), TOKEN, buy_url_template=None)
    assert visible_length(view.caption) <= 1024
    assert view.caption.startswith("<b>Winter jacket with a hood</b>")
    if chosen:
        assert "Variant price: <b>¥19.90</b>" in view.caption
        assert "In stock: 5" in view.caption
    else:
        assert "👇 Choose 0号规格名称" in view.caption


def test_title_in_full_when_it_fits(i18n: I18n) -> None:
    item = load("tmall_one_dim_numeric.json")
    with i18n.context(), i18n.use_locale("en"):
        view = render_card(state_for(item), TOKEN, buy_url_template=None)
    assert (
        "Stainless Steel Insulated Water Bottle 750ml &lt;Double Wall&gt; &amp; Leak-proof Lid"
        in (view.caption)
    )
    assert "…" not in view.caption


def test_original_price_only_when_higher(i18n: I18n) -> None:
    item = load("taobao_en_real_pids.json")
    with i18n.context(), i18n.use_locale("en"):
        higher = render_card(state_for(item), TOKEN, buy_url_template=None).caption
        lower = render_card(
            state_for(item.model_copy(update={"original_price": Decimal("100")})),
            TOKEN,
            buy_url_template=None,
        ).caption
    assert "<s>¥259.00</s>" in higher
    assert "<s>" not in lower


def test_missing_price_and_images_still_render(i18n: I18n) -> None:
    item = load("weidian_single.json").model_copy(update={"price": None, "images": ()})
    with i18n.context(), i18n.use_locale("en"):
        view = render_card(state_for(item), TOKEN, buy_url_template=None)
    assert view.photo is None and "Price: not given" in view.caption
    assert "None" not in view.caption


def test_gallery_row_and_variant_photo(i18n: I18n) -> None:
    item = load("taobao_two_dims.json")
    with i18n.context(), i18n.use_locale("en"):
        first = render_card(state_for(item, photo=2), TOKEN, buy_url_template=None)
        variant = render_card(
            state_for(item, choice=(1, -1), photo=VARIANT_PHOTO), TOKEN, buy_url_template=None
        )
    labels = [b.text for r in first.keyboard.inline_keyboard for b in r]
    assert "3/5" in labels and first.photo == item.images[2]
    assert variant.photo == item.dimensions[0].options[1].image
    # From the option's photo, ▶ starts the gallery at 1/5 and ◀ ends it at 5/5.
    back, here, forward = variant.keyboard.inline_keyboard[-2]
    assert here.text == "🎨"
    assert [CardTap.unpack(str(b.callback_data)).opt for b in (back, forward)] == [4, 0]


def test_price_range_is_both_ends(i18n: I18n) -> None:
    item = load("1688_price_range.json")
    assert item.price == PriceRange(low=Decimal("12.50"), high=Decimal("30.00"))
    with i18n.context(), i18n.use_locale("en"):
        caption = render_card(state_for(item), TOKEN, buy_url_template=None).caption
    assert "¥12.50 – 30.00" in caption and "Minimum order: 2" in caption


def test_seller_attributes_only_where_there_is_room(i18n: I18n) -> None:
    used = load("goofish_secondhand.json")
    with i18n.context(), i18n.use_locale("en"):
        caption = render_card(state_for(used), TOKEN, buy_url_template=None).caption
        crowded = render_card(
            state_for(used.model_copy(update={"title": "长" * 3000})),
            TOKEN,
            buy_url_template=None,
        ).caption
    assert "成色: 九成新" in caption  # a used item's condition matters
    assert "成色" not in crowded and visible_length(crowded) <= 1024


def test_variant_names_are_not_repeated_as_attributes(i18n: I18n) -> None:
    with i18n.context(), i18n.use_locale("en"):
        caption = render_card(
            state_for(load("taobao_two_dims.json")), TOKEN, buy_url_template=None
        ).caption
    assert "颜色分类: 黑色,燕麦白" not in caption and "面料: 棉100%" in caption


@pytest.mark.parametrize(
    ("lang", "delivery", "words"),
    [
        ("en", "3", "ships in 3 days"),
        ("en", "1", "ships in 1 day"),
        ("en", "2.5", "ships in 2.5 days"),
        ("ru", "3", "отправка через 3 дня"),
        ("en", "48小时内发货", "ships in 48小时内发货"),
        # Numbers too big to be days are shown as sent; rounding "1e999999999"
        # held the event loop for good, "1e30" failed the card.
        ("en", "1e999999999", "ships in 1e999999999"),
        ("en", "1e30", "ships in 1e30"),
        ("en", "1" * 40, "ships in " + "1" * 30),
    ],
)
def test_shipping_time_in_days_when_the_upstream_gives_a_number(
    i18n: I18n, lang: str, delivery: str, words: str
) -> None:
    item = load("weidian_single.json").model_copy(update={"delivery_time": delivery})
    with i18n.context(), i18n.use_locale(lang):
        caption = render_card(state_for(item), TOKEN, buy_url_template=None).caption
    assert words in caption


@pytest.mark.parametrize(
    ("fixture", "weight"),
    [
        ("taobao_two_dims.json", "weight 350 g"),  # the upstream's "0.35": kilograms
        ("1688_price_range.json", "weight 420 g"),
        ("taobao_en_real_pids.json", "weight 612 g"),
        ("tmall_one_dim_numeric.json", "weight 410 g"),
    ],
)
def test_weight_reads_as_a_shipping_agent_expects(fixture: str, weight: str, i18n: I18n) -> None:
    with i18n.context(), i18n.use_locale("en"):
        caption = render_card(state_for(load(fixture)), TOKEN, buy_url_template=None).caption
    assert weight in caption
