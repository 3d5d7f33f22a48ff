"""The upstream payload models: every fixture, odd shapes, hostile input."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.catbuy.errors import BadResponse, ItemNotFound
from bot.catbuy.lenient_values import TITLE_LIMIT, _checked_image_url, image_url
from bot.catbuy.payload import _OPTION_KEY, _option_keys, parse_item
from bot.catbuy.risk import parse_risk
from bot.items.item import Item, ItemRef, Platform, PriceRange, PriceTier
from tests.conftest import FIXTURES


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def item(name: str) -> Item:
    return parse_item(fixture(name))


def wrap(**data: Any) -> dict[str, Any]:
    return {
        "code": 1,
        "msg": "return success",
        "data": {"num_iid": "1", "api_source": "taobao", **data},
    }


ITEM_FIXTURES = [p.name for p in sorted(FIXTURES.glob("*.json")) if "num_iid" in p.read_text()]


def test_every_item_fixture_is_found() -> None:
    assert len(ITEM_FIXTURES) == 6


@pytest.mark.parametrize("name", ITEM_FIXTURES)
def test_every_fixture_parses_and_round_trips(name: str) -> None:
    parsed = item(name)
    assert parsed.title and parsed.price is not None and parsed.images
    assert all(url.startswith("https://") and not url.endswith(".webp") for url in parsed.images)
    assert Item.model_validate_json(parsed.model_dump_json()) == parsed


def test_taobao_two_dims() -> None:
    parsed = item("taobao_two_dims.json")
    assert parsed.platform is Platform.TAOBAO and parsed.item_id == "734912856301"
    assert parsed.title == "重磅280g纯棉短袖T恤 男女同款 宽松落肩 & 不易变形 夏季新款"
    assert parsed.price == PriceRange(low=Decimal("89.00"), high=Decimal("109.00"))
    assert parsed.price.is_range
    assert parsed.original_price == Decimal("159.00")
    assert len(parsed.images) == 5
    assert parsed.images[0] == (
        "https://img.alicdn.com/imgextra/i2/2208765401234/"
        "O1CN01aBcDeF1XyZ0000001_!!2208765401234.jpg"
    )
    assert parsed.images[4].endswith("O1CN01aBcDeF1XyZ0000005_!!2208765401234.jpg")
    assert [(d.pid, d.name, len(d.options)) for d in parsed.dimensions] == [
        ("0", "颜色分类", 3),
        ("1", "尺码", 4),
    ]
    black = parsed.dimensions[0].options[0]
    assert (black.key, black.label) == ("0:0", "黑色")
    assert black.image == (
        "https://img.alicdn.com/imgextra/i1/2208765401234/O1CN01ColorBlk00001_!!2208765401234.jpg"
    )
    assert parsed.dimensions[1].options[3].image is None
    assert len(parsed.skus) == 12
    xl = next(s for s in parsed.skus if s.sku_id == "5120034877103")
    assert xl.options == ("0:0", "1:3")
    assert (xl.price, xl.original_price, xl.stock) == (Decimal("109.00"), Decimal("159.00"), 0)
    assert sum(1 for s in parsed.skus if s.stock == 0) == 3
    assert parsed.stock == 1089 and parsed.min_order == 1
    assert parsed.sales == 1000
    assert parsed.weight_grams == Decimal("350.00")  # "0.35": kilograms
    assert parsed.shop == "北巷制衣工作室"
    assert parsed.location == "广东 广州"
    assert parsed.delivery_time == "48小时内发货"
    assert ("克重", "280g") in parsed.attributes and len(parsed.attributes) == 7


def test_taobao_real_pids_and_plain_strings() -> None:
    parsed = item("taobao_en_real_pids.json")
    assert parsed.price == PriceRange(low=Decimal("168.00"), high=Decimal("168.00"))
    assert not parsed.price.is_range
    assert parsed.original_price == Decimal("259.00")
    assert len(parsed.images) == 7
    assert parsed.images[0].startswith("https://img.alicdn.com/imgextra/i1/")
    assert parsed.attributes[:2] == (("Brand", "Other"), ("Material", "Polyester 100%"))
    assert parsed.attributes[2] == ("Season", "Spring, Autumn")
    color, size = parsed.dimensions
    assert (color.pid, color.name, size.pid, size.name) == ("1627207", "Color", "20509", "Size")
    assert [o.label for o in color.options] == ["Black", "Khaki", "Army Green"]
    assert [o.key for o in size.options][-1] == "20509:6145171"
    assert color.options[2].image is not None and color.options[2].image.startswith("https://")
    assert len(parsed.skus) == 15
    first = parsed.skus[0]
    assert first.options == ("1627207:28320", "20509:28314")
    assert (first.price, first.original_price, first.stock) == (Decimal(168), Decimal(259), 14)
    assert parsed.skus[4].price == Decimal(178)
    assert parsed.sales == 2318 and parsed.weight_grams == Decimal("612.4")
    assert parsed.shop == "Peak Trail Outdoor Store"
    assert parsed.delivery_time == "3"


def test_tmall_numeric_and_partial() -> None:
    parsed = item("tmall_one_dim_numeric.json")
    assert parsed.platform is Platform.TMALL
    assert parsed.title == (
        "Stainless Steel Insulated Water Bottle 750ml <Double Wall> & Leak-proof Lid"
    )
    assert parsed.price == PriceRange(low=Decimal(79), high=Decimal(79))
    assert parsed.original_price is None
    assert parsed.images[1].startswith("https://img.alicdn.com/")
    (color,) = parsed.dimensions
    assert [o.label for o in color.options][-1] == "Coral (limited)"
    assert all(o.image is None for o in color.options)
    assert [s.stock for s in parsed.skus] == [500, 0, 61, 3]
    assert parsed.stock == 564  # no ``num``: the SKUs' stock together
    assert parsed.sales == 10450 and parsed.weight_grams == Decimal(410)
    assert parsed.shop is None and parsed.delivery_time is None and parsed.location is None


def test_1688_wholesale() -> None:
    parsed = item("1688_price_range.json")
    assert parsed.platform is Platform.ALI1688
    assert parsed.price == PriceRange(low=Decimal("12.50"), high=Decimal("30.00"))
    assert parsed.original_price is None
    assert parsed.price_tiers == (
        PriceTier(min_quantity=2, price=Decimal("30.00")),
        PriceTier(min_quantity=100, price=Decimal("22.00")),
        PriceTier(min_quantity=1000, price=Decimal("12.50")),
    )
    assert parsed.min_order == 2 and parsed.unit == "件"
    assert [len(d.options) for d in parsed.dimensions] == [2, 3, 2]
    assert [s.stock for s in parsed.skus].count(0) == 1
    assert parsed.sales == 32000  # "3.2万+"
    assert parsed.shop == "义乌市暖屿家居用品厂"
    assert parsed.location == "浙江省 金华市"


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        (38.5, Decimal("38.5")),
        (38.0, Decimal("38.0")),
        (79, Decimal(79)),
        ("38.50", Decimal("38.50")),
    ],
)
def test_a_price_sent_as_a_number_is_a_price(price: object, expected: Decimal) -> None:
    raw = fixture("weidian_single.json")
    raw["data"]["price"] = price  # no SKUs to fall back on: the card would say "not given"
    parsed = parse_item(raw)
    assert parsed.price == PriceRange(low=expected, high=expected)


@pytest.mark.parametrize("price", [float("nan"), float("inf"), -3.0, True])
def test_a_number_that_is_no_price_is_none(price: object) -> None:
    raw = fixture("weidian_single.json")
    raw["data"]["price"] = price
    assert parse_item(raw).price is None


def test_weidian_single() -> None:
    parsed = item("weidian_single.json")
    assert parsed.platform is Platform.WEIDIAN
    assert parsed.price == PriceRange(low=Decimal("38.00"), high=Decimal("38.00"))
    assert parsed.original_price is None
    assert parsed.dimensions == () and parsed.skus == ()
    assert parsed.images[1].endswith("_800_800.jpg?w=750&h=750")
    assert parsed.weight_grams is None and parsed.location is None
    assert parsed.sales == 56 and parsed.stock == 23 and parsed.shop == "绒绒小铺"
    assert parsed.delivery_time == "7天内发货"


def test_goofish_secondhand() -> None:
    parsed = item("goofish_secondhand.json")
    assert parsed.platform is Platform.GOOFISH
    assert parsed.price == PriceRange(low=Decimal("799.00"), high=Decimal("799.00"))
    assert parsed.original_price == Decimal("1399.00")
    assert parsed.images[1] == (
        "https://img.alicdn.com/bao/uploaded/i1/O1CN01IdleFish0000002_!!0-fleamarket.jpg"
    )
    assert parsed.shop == "tb_8823xxa"  # empty shop_name falls back to the nick
    assert parsed.sales == 0 and parsed.stock == 1 and parsed.weight_grams is None


def test_negative_ids_and_colons_in_values() -> None:
    raw = wrap(
        props_list={"-1:-3": "Style:12:30 edition", "-1:-4": "Style:Plain", "0:1": "nolabel"},
        props_img={"-1:-3": "//img.example.com/a.jpg_.webp"},
        skus={"sku": [{"sku_id": 9, "properties": "-1:-3;7:7", "quantity": "5", "price": "1"}]},
    )
    parsed = parse_item(raw)
    style, other = parsed.dimensions
    assert (style.pid, style.name) == ("-1", "Style")
    assert [(o.key, o.label) for o in style.options] == [
        ("-1:-3", "12:30 edition"),
        ("-1:-4", "Plain"),
    ]
    assert style.options[0].image == "https://img.example.com/a.jpg"
    assert (other.name, other.options[0].label) == ("", "nolabel")
    (sku,) = parsed.skus
    # An SKU naming an unknown option keeps it: the picker decides.
    assert (sku.sku_id, sku.options, sku.stock) == ("9", ("-1:-3", "7:7"), 5)
    assert parsed.price == PriceRange(low=Decimal(1), high=Decimal(1))  # from the SKUs


def test_dimensions_from_properties_name_without_props_list() -> None:
    raw = wrap(
        skus=[
            {"sku_id": "a", "properties": "0:0;1:1", "properties_name": "0:0:Color:Red;1:1:Size:M"}
        ]
    )
    parsed = parse_item(raw)
    assert [(d.name, [o.label for o in d.options]) for d in parsed.dimensions] == [
        ("Color", ["Red"]),
        ("Size", ["M"]),
    ]


def test_title_is_cleaned_and_bounded() -> None:
    parsed = parse_item(wrap(title="A&amp;B\x00\x07 line&#10;two\u202e " + "x" * 5000))
    assert parsed.title.startswith("A&B line two ")
    assert len(parsed.title) <= TITLE_LIMIT
    assert not any(ord(c) < 32 for c in parsed.title)


SCHEMES = ["//", "https://", "HTTP://", "http:", "http:/", "ftp://", " ", ""]
HOSTS = ["img.alicdn.com", "a-1.cn", "x", "a..b", "a.b.", "u@a.b", "a.b:80", "商.cn", ""]
PATH_PIECES = ["/", "a", ".jpg", "_.webp", "!!", "~", "%20", "-", "?w=1", "#x", "&amp;", " "]
PATH_PIECES += ["\u00a0", "\\", "商", "@", ":"]


@settings(max_examples=500, deadline=None)
@given(
    url=st.tuples(
        st.sampled_from(SCHEMES),
        st.sampled_from(HOSTS),
        st.lists(st.sampled_from(PATH_PIECES), max_size=6).map("".join),
    ).map("".join)
)
@example(url="//img.alicdn.com/i1/O1CN01!!22.jpg_.webp")
@example(url="HTTP://a-1.cn/%20~x.jpg")
@example(url="//u@a.b/x.jpg")
@example(url="//a.b:80/x.jpg")
@example(url="https://a.b/x@y.jpg")
@example(url="https://a.b./x.jpg")
def test_plain_image_urls_take_a_short_cut_to_the_same_answer(url: str) -> None:
    assert image_url(url) == _checked_image_url(url.strip())


@settings(max_examples=300, deadline=None)
@given(
    properties=st.lists(
        st.text(st.sampled_from("01:-.; a_é"), max_size=8) | st.sampled_from(["0:0", "1:3"]),
        max_size=4,
    ).map(";".join)
)
def test_well_formed_option_keys_take_a_short_cut_to_the_same_answer(properties: str) -> None:
    parts = [part.strip() for part in properties.split(";")]
    expected = tuple(part for part in parts if _OPTION_KEY.fullmatch(part))
    assert _option_keys(properties) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("//img.alicdn.com/a.jpg", "https://img.alicdn.com/a.jpg"),
        ("http://img.alicdn.com/a.jpg_.webp", "https://img.alicdn.com/a.jpg"),
        ({"url": " https://x.com/b.png?w=1&amp;h=2 "}, "https://x.com/b.png?w=1&h=2"),
        ("javascript:alert(1)", None),
        ("/relative.jpg", None),
        ("https://user@evil.com/a.jpg", None),
        ("https:///nohost.jpg", None),
        ("https://x.com?", "https://x.com"),
        ("https://x.com/a.jpg#top", "https://x.com/a.jpg"),
        ("HTTPS://x.com/a.jpg_.webp?w=1", "https://x.com/a.jpg?w=1"),
        ("https://x.com/a.jpg\u200b", None),
        ("https://x.com/a\u00a0b.jpg", None),  # a no-break space
        ("https://x.com/a\tb.jpg", None),
        ("https://img.example.cn/商品/a.jpg", "https://img.example.cn/商品/a.jpg"),
        ("https://x.com/" + "a" * 5000, None),
        ({"src": "https://x.com/a.jpg"}, None),
        (42, None),
    ],
)
def test_image_urls(value: object, expected: str | None) -> None:
    assert image_url(value) == expected


@pytest.mark.parametrize(
    ("field", "value", "attribute", "expected"),
    [
        ("price", "¥89.5", "price", PriceRange(low=Decimal("89.5"), high=Decimal("89.5"))),
        ("price", "100~50", "price", PriceRange(low=Decimal(50), high=Decimal(100))),
        ("price", "free", "price", None),
        ("price", {"low": 1}, "price", None),
        ("orginal_price", "", "original_price", None),
        ("original_price", 12.5, "original_price", Decimal("12.5")),
        ("num", "lots", "stock", None),
        ("num", -4, "stock", None),
        ("min_num", "3", "min_order", 3),
        ("sales_data", {"weight": "1.2kg"}, "weight_grams", Decimal("1200.0")),
        ("sales_data", {"weight": "0.5 g"}, "weight_grams", Decimal("0.5")),
        ("sales_data", {"weight": 0.42}, "weight_grams", Decimal("420.00")),
        ("sales_data", {"weight": "1.5"}, "weight_grams", Decimal("1.5")),
        ("sales_data", {"weight": 0}, "weight_grams", None),
        ("sales_data", ["weight", 5], "weight_grams", None),
        ("sales_data", {"sales": True}, "sales", None),
        ("seller_info", "shop", "shop", None),
        ("seller_info", {"shop_name": "&lt;Shop&gt;"}, "shop", "<Shop>"),
        ("location", "", "location", None),
        ("item_imgs", "https://x.com/a.jpg", "images", ()),
        ("props", {"name": "a"}, "attributes", ()),
        ("props", ["no colon", 5, None, "K：V"], "attributes", (("K", "V"),)),
        ("price_range", [{"begin_num": "x", "price": 1}, "y"], "price_tiers", ()),
    ],
)
def test_mistyped_fields_are_dropped(
    field: str, value: object, attribute: str, expected: object
) -> None:
    parsed = parse_item(wrap(**{field: value}))
    assert getattr(parsed, attribute) == expected


@pytest.mark.parametrize(
    ("field", "value", "attribute", "expected"),
    [
        ("num", "0037", "stock", 37),
        ("num", "３７", "stock", 37),  # full-width digits
        ("num", "999999999999", "stock", 999_999_999_999),
        ("num", "1000000000000", "stock", None),
        ("num", 10**12, "stock", None),
        ("num", " 12 ", "stock", 12),
        ("num", "12.0", "stock", 12),
        ("num", "12.5", "stock", None),
        ("num", "1,089", "stock", 1089),
        ("num", "²", "stock", None),
        ("orginal_price", "1,089.50元", "original_price", Decimal("1089.50")),
        ("orginal_price", " ¥ 7 ", "original_price", Decimal(7)),
        ("orginal_price", " " * 1000 + "89", "original_price", Decimal(89)),
        ("orginal_price", "1e3", "original_price", None),
        ("orginal_price", "NaN", "original_price", None),
        ("orginal_price", 1e-05, "original_price", Decimal("0.00001")),
        ("title", "a  b\u3000c\td", "title", "a b c d"),
        ("title", "  x\u200by  ", "title", "x y"),
        ("title", "保冷 👨\u200d👩\u200d👧 family", "title", "保冷 👨\u200d👩\u200d👧 family"),
        ("title", "می\u200cخواهم", "title", "می\u200cخواهم"),
        ("unit", "\xa0件\xa0", "unit", "件"),
        ("location", "a\u2028b", "location", "a b"),
    ],
)
def test_scalar_spellings(field: str, value: object, attribute: str, expected: object) -> None:
    parsed = parse_item(wrap(**{field: value}))
    assert getattr(parsed, attribute) == expected


def test_identity_from_ref_wins_and_fills_gaps() -> None:
    ref = ItemRef(platform=Platform.GOOFISH, item_id="777")
    raw = fixture("taobao_two_dims.json")
    assert parse_item(raw, fallback=ref).ref == ref
    del raw["data"]["num_iid"], raw["data"]["api_source"]
    assert parse_item(raw, fallback=ref).ref == ref
    with pytest.raises(BadResponse):
        parse_item(raw)  # detail_url names the platform, but nothing names the id
    raw["data"]["num_iid"] = 734912856301
    assert parse_item(raw).ref == ItemRef(platform=Platform.TAOBAO, item_id="734912856301")


def test_code_other_than_one_is_item_not_found() -> None:
    with pytest.raises(ItemNotFound) as caught:
        parse_item({"code": 0, "msg": "item not found " + "z" * 1000, "data": []})
    assert "item not found" in str(caught.value) and len(str(caught.value)) < 120
    with pytest.raises(ItemNotFound):
        parse_item({"code": "-1"})


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        "html",
        {"msg": "no code"},
        {"code": None, "data": {}},
        {"code": 1},
        {"code": 1, "data": None},
        {"code": 1, "data": []},
        {"code": 1, "data": "x"},
        {"code": 1, "data": {"title": "no id"}},
        {"code": 1, "data": {"num_iid": "1", "api_source": "amazon"}},
        {"code": 1, "data": {"num_iid": "../../etc", "api_source": "taobao"}},
    ],
)
def test_unusable_answers_are_bad_responses(raw: object) -> None:
    with pytest.raises(BadResponse):
        parse_item(raw)


# Lone surrogates too: json.loads makes them of "\ud83d", half an emoji.
TEXT = st.text(
    st.characters() | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=30
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    [
        "api_source",
        "num_iid",
        "title",
        "price",
        "orginal_price",
        "num",
        "min_num",
        "pic_url",
        "item_imgs",
        "props",
        "props_list",
        "props_img",
        "props_name",
        "skus",
        "price_range",
        "seller_info",
        "sales_data",
        "location",
    ]
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(base=st.sampled_from(ITEM_FIXTURES), changes=st.dictionaries(FIELDS, JSON, max_size=5))
def test_hostile_fields_never_raise_anything_else(base: str, changes: dict[str, Any]) -> None:
    raw = copy.deepcopy(fixture(base))
    raw["data"].update(changes)
    try:
        parsed = parse_item(raw)
    except (BadResponse, ItemNotFound):
        return
    # What the cache and Telegram take: UTF-8, so no lone surrogate.
    assert Item.model_validate_json(parsed.model_dump_json()) == parsed


@settings(max_examples=200, deadline=None)
@given(raw=JSON)
def test_hostile_envelopes_never_raise_anything_else(raw: object) -> None:
    for answer in (raw, {"code": 1, "data": raw}):
        try:
            parse_item(answer)
            parse_risk(answer)
        except (BadResponse, ItemNotFound):
            pass


def test_half_an_emoji_is_dropped_wherever_it_arrives() -> None:
    """A lone surrogate has no UTF-8 form: kept, it fails the cache and the card."""
    half = "\ud83d"
    parsed = parse_item(
        wrap(
            title=f"Teddy {half}",
            nick=f"{half}shop",
            props=[{"name": f"Brand{half}", "value": "Other"}, f"Size{half}:M"],
            props_list={"0:0": f"Colour:Black{half}"},
            props_name=f"0:0:Colour:Black{half}",
            skus=[{"sku_id": f"5{half}1", "properties": "0:0", "properties_name": half}],
            seller_info={"shop_name": half},
            sales_data={"delivery_time": f"48h{half}"},
            location=half,
        )
    )
    parsed.model_dump_json()  # what the cache stores: it raises on a lone surrogate
    assert (parsed.title, parsed.shop) == ("Teddy", "shop")
    assert parsed.attributes == (("Brand", "Other"), ("Size", "M"))
    assert parsed.dimensions[0].options[0].label == "Black"
    assert parsed.skus[0].sku_id == "51"


def test_huge_payload_is_bounded() -> None:
    many = {f"{i % 50}:{i}": f"N{i % 50}:V{i}" for i in range(20_000)}
    skus = [{"sku_id": str(i), "properties": f"0:{i}", "quantity": i} for i in range(5000)]
    parsed = parse_item(
        wrap(api_source="1688", props_list=many, skus=skus, item_imgs=["//a.b/c.jpg"] * 500)
    )
    assert len(parsed.dimensions) == 10
    assert max(len(d.options) for d in parsed.dimensions) <= 300
    assert len(parsed.skus) == 2000
    assert parsed.images == ("https://a.b/c.jpg",)


@pytest.mark.parametrize(
    ("cost", "expected"),
    [("0.03", Decimal("0.03")), ("$0.03", Decimal("0.03")), (0, Decimal(0)), ("①", None)],
)
def test_risk_cost_reads_plain_numbers_only(cost: object, expected: Decimal | None) -> None:
    raw = fixture("risk_match.json")
    raw["cost"] = cost
    assert parse_risk(raw).cost == expected


def test_risk_fixtures() -> None:
    match = parse_risk(fixture("risk_match.json"))
    assert (match.blacklisted, match.risk_score, match.category) == (True, 85, "chargeback_user")
    assert (match.match_type, match.first_seen) == ("email", "2024-03-15")
    assert match.reason == "Chargeback on order #ORD-8842"
    assert match.details == {
        "orderId": "ORD-8842",
        "amount": "$520.00",
        "chargebackDate": "2024-03-15",
    }
    assert match.cost == Decimal("0.03")
    clean = parse_risk(fixture("risk_clean.json"))
    assert (clean.blacklisted, clean.risk_score, clean.category) == (False, 0, "none")
    assert clean.match_type is None and clean.reason is None and clean.details == {}
    for verdict in (match, clean):
        assert "@example.com" not in verdict.model_dump_json()  # checked.value is never kept


def test_risk_odd_values() -> None:
    raw = fixture("risk_match.json")
    raw["result"].update(
        riskScore=250, details={"nested": {"a": [1, 2]}, "n": 5, "none": None, "long": "x" * 999}
    )
    verdict = parse_risk(raw)
    assert verdict.risk_score == 100
    assert verdict.details["nested"] == '{"a":[1,2]}' and verdict.details["n"] == "5"
    assert "none" not in verdict.details and len(verdict.details["long"]) == 200
    raw["result"]["riskScore"] = "-3"
    assert parse_risk(raw).risk_score == 0
    del raw["result"]["riskScore"], raw["cost"]
    assert parse_risk(raw).risk_score == 100 and parse_risk(raw).cost is None


@pytest.mark.parametrize(
    "raw",
    [
        {"ok": False, "result": {"blacklisted": True}},
        {"ok": True},
        {"ok": True, "result": []},
        {"ok": True, "result": {"riskScore": 5}},
        {"error": "missing_parameter"},
    ],
)
def test_risk_bad_shapes(raw: object) -> None:
    with pytest.raises(BadResponse) as caught:
        parse_risk(
            {**raw, "checked": {"value": "secret@example.com"}} if isinstance(raw, dict) else raw
        )
    assert "secret" not in str(caught.value)
