"""Link parsing: every marketplace form, the allow-list, entities and text."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.items.item import ItemRef, Platform
from bot.links.agents import agent_domains
from bot.links.message import LinkEntity, find_links, might_hold_link
from bot.links.urls import MARKETPLACE_DOMAINS, is_short_link, normalize_host, parse_item_url

TB, TM, AL, WD, GF = (
    Platform.TAOBAO,
    Platform.TMALL,
    Platform.ALI1688,
    Platform.WEIDIAN,
    Platform.GOOFISH,
)

FORMS = [
    # Taobao
    ("https://item.taobao.com/item.htm?id=678901234567", TB, "678901234567"),
    ("https://item.taobao.com/item.html?id=678901234567", TB, "678901234567"),
    (
        "https://item.taobao.com/item.htm?spm=a1z10.3-c.w4002.10.46c7&id=6789012345",
        TB,
        "6789012345",
    ),
    ("https://item.taobao.com/item.htm?spm=a1z10%26id%3D6789012345", TB, "6789012345"),
    ("https://item.taobao.com/item.htm%3Fid%3D6789012345", TB, "6789012345"),
    ("https://item.taobao.com/item.htm?spm=x&amp;id=6789012345", TB, "6789012345"),
    ("http://item.taobao.com/item.htm?id=6789012345", TB, "6789012345"),
    ("item.taobao.com/item.htm?id=6789012345", TB, "6789012345"),
    ("HTTPS://ITEM.TAOBAO.COM/item.htm?id=6789012345", TB, "6789012345"),
    ("https://item.taobao.com./item.htm?id=6789012345", TB, "6789012345"),
    ("https://item.taobao.com:443/item.htm?id=6789012345", TB, "6789012345"),
    ("https://m.intl.taobao.com/detail/detail.html?id=6789012345", TB, "6789012345"),
    ("https://h5.m.taobao.com/awp/core/detail.htm?ft=t&id=6789012345&spm=a2141", TB, "6789012345"),
    ("https://item.m.taobao.com/item.htm?id=6789012345", TB, "6789012345"),
    ("https://a.m.taobao.com/i6789012345.htm?sm=1", TB, "6789012345"),
    ("https://world.taobao.com/item/6789012345.htm", TB, "6789012345"),
    ("https://item.taobao.com/item.htm?id=6789012345#detail", TB, "6789012345"),
    # Tmall
    ("https://detail.tmall.com/item.htm?id=612345678901", TM, "612345678901"),
    ("https://detail.tmall.com/item_o.htm?id=612345678901", TM, "612345678901"),
    ("https://detail.m.tmall.com/item.htm?spm=a1z10&id=612345678901", TM, "612345678901"),
    ("https://detail.tmall.hk/hk/item.htm?id=612345678901", TM, "612345678901"),
    ("https://chaoshi.detail.tmall.com/item.htm?id=612345678901", TM, "612345678901"),
    ("https://a.m.tmall.com/i612345678901.htm", TM, "612345678901"),
    # 1688
    ("https://detail.1688.com/offer/654321987.html", AL, "654321987"),
    ("https://detail.1688.com/offer/654321987.html?spm=a260k", AL, "654321987"),
    ("https://m.1688.com/offer/654321987.html", AL, "654321987"),
    ("https://detail.m.1688.com/page/index.htm?offerId=654321987", AL, "654321987"),
    ("https://detail.m.1688.com/page/index.html?offerId=654321987&spm=x", AL, "654321987"),
    # Weidian
    ("https://weidian.com/item.html?itemID=7212345678", WD, "7212345678"),
    ("https://weidian.com/item.html?itemId=7212345678&p=iphone", WD, "7212345678"),
    ("https://shop1234567.v.weidian.com/item.html?itemID=7212345678&wfr=wx", WD, "7212345678"),
    # Goofish (2.taobao.com is second-hand: Goofish's family, not Taobao)
    ("https://www.goofish.com/item?id=812345678901", GF, "812345678901"),
    ("https://www.goofish.com/item?spm=a21ybx&id=812345678901&categoryId=1", GF, "812345678901"),
    ("https://m.goofish.com/item?id=812345678901", GF, "812345678901"),
    ("https://h5.m.goofish.com/item?id=812345678901", GF, "812345678901"),
    ("https://h5.m.goofish.com/item?itemId=812345678901", GF, "812345678901"),
    ("https://goofish.com/item/812345678901", GF, "812345678901"),
    ("https://2.taobao.com/item.htm?id=812345678901", GF, "812345678901"),
]


@pytest.mark.parametrize(("url", "platform", "item_id"), FORMS)
def test_every_form_reduces_to_platform_and_id(url: str, platform: Platform, item_id: str) -> None:
    assert parse_item_url(url) == ItemRef(platform=platform, item_id=item_id)


def test_sku_is_kept_but_not_part_of_the_identity() -> None:
    ref = parse_item_url("https://detail.tmall.com/item.htm?id=612345678901&skuId=4455667788")
    assert ref is not None
    assert ref.sku_id == "4455667788"
    assert ref.key == "tmall:612345678901"


def test_canonical_url_drops_tracking() -> None:
    ref = parse_item_url("https://item.taobao.com/item.htm?spm=a1&id=6789012345&scm=x&pvid=y")
    assert ref is not None
    assert ref.canonical_url == "https://item.taobao.com/item.htm?id=6789012345"


NOT_ITEMS = [
    # lookalikes and hostile forms
    "https://taobao.com.evil.com/item.htm?id=6789012345",
    "https://evil-taobao.com/item.htm?id=6789012345",
    "https://eviltaobao.com/item.htm?id=6789012345",
    "https://taobao.com@evil.com/item.htm?id=6789012345",
    "https://user:pw@item.taobao.com/item.htm?id=6789012345",
    "https://evil.com/?u=https://item.taobao.com/item.htm?id=6789012345",
    "https://evil.com\\@item.taobao.com/item.htm?id=6789012345",
    "https://item.taobao.com\\.evil.com/item.htm?id=6789012345",
    "https://item.taobao.com:8080/item.htm?id=6789012345",
    "http://item.taobao.com:443/item.htm?id=6789012345",
    "ftp://item.taobao.com/item.htm?id=6789012345",
    "javascript:alert(1)//item.taobao.com/item.htm?id=6789012345",
    "javascript://item.taobao.com/item.htm?id=6789012345",
    "https://127.0.0.1/item.htm?id=6789012345",
    "https://[::1]/item.htm?id=6789012345",
    "https://2130706433/item.htm?id=6789012345",
    "https://0x7f.1/item.htm?id=6789012345",
    "https://taobao\u3002com\u3002evil\u3002com/item.htm?id=6789012345",
    "https://item.taobao.com../item.htm?id=6789012345",
    "https:///item.taobao.com/item.htm?id=6789012345",
    "https://item%2Etaobao.com/item.htm?id=6789012345",
    "https://item.taobao.com/item.htm?id=12ab",
    "https://item.taobao.com/item.htm?id=" + "9" * 21,
    "https://item.taobao.com/item.htm?id=0",
    "https://item.tao bao.com/item.htm?id=6789012345",
    # shop and search pages on accepted hosts
    "https://shop123456.taobao.com/",
    "https://s.taobao.com/search?q=hoodie&id=6789012345",
    "https://list.tmall.com/search_product.htm?q=x",
    "https://weidian.com/?userid=123456",
    "https://shop1234.v.weidian.com/?userid=1234",
    "https://shop1234.1688.com/page/offerlist.htm",
    "https://www.goofish.com/search?q=bike",
    "https://www.goofish.com/personal?userId=123",
    "",
    "   ",
    "not a link",
]


@pytest.mark.parametrize("url", NOT_ITEMS)
def test_lookalikes_hostile_forms_and_non_items_are_refused(url: str) -> None:
    assert parse_item_url(url) is None


def test_full_width_dots_and_letters_normalise_to_the_real_host() -> None:
    # A browser opens these on taobao.com itself, so they are that host.
    assert normalize_host("item\u3002taobao\uff0ecom") == "item.taobao.com"
    assert normalize_host("\uff49\uff54\uff45\uff4d.taobao.com") == "item.taobao.com"
    assert normalize_host("taobao\u3002com\u3002evil\u3002com") == "taobao.com.evil.com"
    assert normalize_host("127.0.0.1") is None
    assert normalize_host("t\u00e4obao.com") == "xn--tobao-gra.com"


def test_short_links_are_recognised_and_are_not_items() -> None:
    assert is_short_link("https://e.tb.cn/h.gABC123?tk=xYz")
    assert is_short_link("http://m.tb.cn/h.5abcd")
    assert is_short_link("m.tb.cn/h.5abcd")
    assert is_short_link("https://k.youshop10.com/aBc12")
    assert is_short_link("https://qr.1688.com/s/abc")
    assert not is_short_link("https://m.tb.cn/")
    assert not is_short_link("https://m.tb.cn.evil.com/h.5abcd")
    assert not is_short_link("https://tb.cn@evil.com/h.x")
    assert parse_item_url("https://e.tb.cn/h.gABC123?tk=xYz") is None


SHARE_TEXTS = [
    (
        "【淘宝】https://e.tb.cn/h.gB5Rp1XyZwKh0kT?tk=4wZxW8a2bcd CZ0001 "
        "「夏季新款宽松纯棉短袖T恤男」\n点击链接直接打开 或者 淘宝搜索直接打开",
        "https://e.tb.cn/h.gB5Rp1XyZwKh0kT?tk=4wZxW8a2bcd",
    ),
    (
        "3👈fu置文本₤AbCd1234₤/ MF6543 https://m.tb.cn/h.5XyZab?tk=AbCd1234 「复古卫衣」",
        "https://m.tb.cn/h.5XyZab?tk=AbCd1234",
    ),
    (
        "【闲鱼】https://m.tb.cn/h.6hQzXyz?tk=Qw12Er3 「九成新自行车」\n点击链接直接打开",
        "https://m.tb.cn/h.6hQzXyz?tk=Qw12Er3",
    ),
    (
        "【天猫】http://e.tb.cn/h.TmAll12?tk=ZZ99「官方旗舰店 运动鞋」",
        "https://e.tb.cn/h.TmAll12?tk=ZZ99",
    ),
    ("微店商品 https://k.youshop10.com/aBc12XyZ 快来看看", "https://k.youshop10.com/aBc12XyZ"),
]


@pytest.mark.parametrize(("text", "short"), SHARE_TEXTS)
def test_share_text_yields_its_short_link_and_no_item(text: str, short: str) -> None:
    found = find_links(text, [])
    assert found.short_links == [short]
    assert found.refs == []
    assert might_hold_link(text, [])


def test_utf16_offsets_with_emoji_before_the_link() -> None:
    link = "https://item.taobao.com/item.htm?id=6789012345"
    text = f"🔥🔥 look 👀 {link} nice"
    offset = len("🔥🔥 look 👀 ".encode("utf-16-le")) // 2
    assert offset != text.index(link)  # the test only means something if they differ
    entity = LinkEntity(type="url", offset=offset, length=len(link))
    found = find_links(text, [entity])
    assert found.refs == [ItemRef(platform=TB, item_id="6789012345")]


def test_url_entity_sliced_by_utf16_units_not_python_indices() -> None:
    # Bare scanning cannot see this link (glued to a word), so only a correct
    # UTF-16 slice of the entity finds it.
    link = "weidian.com/item.html?itemID=7212345678"
    text = f"😀😀😀好货abc{link}"
    offset = len("😀😀😀好货abc".encode("utf-16-le")) // 2
    assert find_links(text, []).refs == []
    found = find_links(text, [LinkEntity("url", offset, len(link))])
    assert found.refs == [ItemRef(platform=WD, item_id="7212345678")]


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@pytest.mark.parametrize(
    ("before", "link", "after", "key"),
    [
        (
            "这个不错 ",
            "https://item.taobao.com/item.htm?id=678901234567",
            "，有货吗",
            "taobao:678901234567",
        ),
        ("（", "https://detail.tmall.com/item.htm?id=612345678901", "）", "tmall:612345678901"),
        ("链接：", "https://detail.1688.com/offer/654321987.html", "。", "1688:654321987"),
        ("", "https://weidian.com/item.html?itemID=7212345678", "看看", "weidian:7212345678"),
        ("🔥", "https://www.goofish.com/item?id=812345678901", "🔥", "goofish:812345678901"),
        ("Вот ", "https://item.taobao.com/item.htm?id=678901234567", "？", "taobao:678901234567"),
        ("【天猫】", "http://e.tb.cn/h.TmAll12?tk=ZZ99", "「官方旗舰店", "http"),
    ],
)
def test_a_url_entity_that_runs_on_past_the_link_still_finds_it(
    before: str, link: str, after: str, key: str
) -> None:
    # Telegram's link detection stops only at a blank, so the url entity it
    # sends takes in the CJK text, full-width punctuation or emoji glued on.
    text = f"{before}{link}{after} ok"
    entity = LinkEntity("url", utf16(before), utf16(link + after))
    found = find_links(text, [entity])
    if key == "http":  # a short link: requested as is, nothing glued on
        assert found.short_links == ["https://e.tb.cn/h.TmAll12?tk=ZZ99"]
    else:
        assert [ref.key for ref in found.refs] == [key]


@pytest.mark.parametrize("wrapped", ["[{}]", "({})", "[({})]", "{}]"])
def test_brackets_around_a_bare_link_are_not_part_of_it(wrapped: str) -> None:
    text = wrapped.format("https://weidian.com/item.html?itemID=7212345678")
    assert [ref.key for ref in find_links(text, []).refs] == ["weidian:7212345678"]


def test_text_link_entities_use_their_url() -> None:
    text = "this hoodie and that one"
    entities = [
        LinkEntity("text_link", 15, 8, "https://detail.1688.com/offer/654321987.html"),
        LinkEntity("text_link", 5, 6, "https://weidian.com/item.html?itemID=7212345678"),
        LinkEntity("bold", 0, 4),
        LinkEntity("text_link", 0, 4, "https://evil.com/?id=1"),
    ]
    found = find_links(text, entities)
    assert [ref.key for ref in found.refs] == ["weidian:7212345678", "1688:654321987"]
    assert might_hold_link(text, entities)


def test_order_of_appearance_and_duplicates_collapse() -> None:
    text = (
        "first https://detail.tmall.com/item.htm?id=1111111&skuId=5 then "
        "https://weidian.com/item.html?itemID=2222222, again "
        "detail.tmall.com/item.htm?id=1111111&skuId=9 and https://e.tb.cn/h.a?tk=1 "
        "and https://e.tb.cn/h.a?tk=1 (https://goofish.com/item/3333333)."
    )
    found = find_links(text, [])
    assert [ref.key for ref in found.refs] == [
        "tmall:1111111",
        "weidian:2222222",
        "goofish:3333333",
    ]
    assert found.refs[0].sku_id == "5"
    assert found.short_links == ["https://e.tb.cn/h.a?tk=1"]


def test_agent_link_and_raw_link_to_one_item_collapse() -> None:
    text = (
        "https://cnfans.com/product?shop_type=weidian&id=7212345678 "
        "https://weidian.com/item.html?itemID=7212345678"
    )
    assert [ref.key for ref in find_links(text, []).refs] == ["weidian:7212345678"]


def test_lookalikes_in_text_find_nothing() -> None:
    text = (
        "https://taobao.com.evil.com/item.htm?id=6789012345 "
        "https://evil-taobao.com/item.htm?id=6789012345 "
        "https://taobao.com@evil.com/item.htm?id=6789012345 "
        "https://evil.com/?u=https://item.taobao.com/item.htm?id=6789012345 "
        "https://kakobuy.com.evil.com/item/details?url=https%3A%2F%2Fweidian.com%2Fitem.html%3FitemID%3D7"
    )
    found = find_links(text, [])
    assert found.refs == []
    assert found.short_links == []


def test_a_hundred_links_are_bounded_and_kept_in_order() -> None:
    links = [f"https://item.taobao.com/item.htm?id={1000000 + n}" for n in range(100)]
    text = " ".join(links)
    found = find_links(text, [])
    assert 3 <= len(found.refs) <= 50
    assert [ref.item_id for ref in found.refs] == [str(1000000 + n) for n in range(len(found.refs))]


def test_huge_and_broken_text_never_raises() -> None:
    texts = [
        "x" * 4096,
        "\ud800https://item.taobao.com/item.htm?id=6789012345\udfff",
        "https://" * 600,
        "taobao.com." * 400,
        "\u202ehttps://item.taobao.com/item.htm?id=1234567\u202c",
        "https://item.taobao.com/" + "%" * 4000,
    ]
    for text in texts:
        find_links(text, [LinkEntity("url", 3, 10_000), LinkEntity("url", -5, 3)])
        might_hold_link(text, [])
    found = find_links(texts[1], [])
    assert [ref.item_id for ref in found.refs] == ["6789012345"]


def test_precheck_is_false_for_chatter_and_cheap() -> None:
    chatter = "hey everyone, did the parcel arrive? mine is stuck in customs again :( lol " * 3
    assert not might_hold_link(chatter, [])
    assert not might_hold_link(None, [])
    assert not might_hold_link("", [LinkEntity("bold", 0, 3)])
    assert might_hold_link("see ITEM.TAOBAO.COM/item.htm?id=1", [])
    assert might_hold_link("x", [LinkEntity("url", 0, 1)])
    rounds = 2000
    started = time.perf_counter()
    for _ in range(rounds):
        might_hold_link(chatter, [])
    per_call = (time.perf_counter() - started) / rounds
    print(f"might_hold_link on {len(chatter)} chars: {per_call * 1e6:.1f} µs")


def _allowed_host(host: str) -> bool:
    domains = (*MARKETPLACE_DOMAINS, *agent_domains())
    return any(host == d or host.endswith("." + d) for d in domains)


_hosts = st.sampled_from(
    [
        "item.taobao.com",
        "taobao.com.evil.com",
        "evil-taobao.com",
        "2.taobao.com",
        "weidian.com",
        "127.0.0.1",
        "[::1]",
        "item\u3002taobao\u3002com",
        "ｉｔｅｍ.taobao.com",
        "www.kakobuy.com",
        "kakobuy.com.evil.com",
        "cnfans.com",
        "evil.com",
        "detail.1688.com",
        "goofish.com",
    ]
)
_paths = st.sampled_from(
    ["/item.htm", "/offer/123.html", "/item", "/product/1/123", "/item/details", "/", ""]
)
_queries = st.sampled_from(
    [
        "?id=123456",
        "?itemID=123456",
        "?url=https%3A%2F%2Fitem.taobao.com%2Fitem.htm%3Fid%3D1234567",
        "?url=https%3A%2F%2Fevil.com%2Fitem.htm%3Fid%3D1234567",
        "?shop_type=taobao&id=98765",
        "",
    ]
)
_urls = st.builds(
    lambda scheme, user, host, port, path, query, junk: (
        f"{scheme}{user}{host}{port}{path}{query}{junk}"
    ),
    st.sampled_from(["https://", "http://", "", "javascript:", "ftp://", "HTTPS://", "//"]),
    st.sampled_from(["", "user@", "taobao.com@", "a:b@"]),
    _hosts,
    st.sampled_from(["", ":443", ":80", ":8080", ":"]),
    _paths,
    _queries,
    st.text(max_size=8),
)


def _check_accepted(url: str) -> None:
    ref = parse_item_url(url)
    if ref is None:
        return
    full = url.strip() if "://" in url else "https://" + url.strip()
    host = urlsplit(full).hostname or ""
    assert _allowed_host(normalize_host(host) or ""), url


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.one_of(_urls, st.text(max_size=300)))
def test_property_no_exception_and_no_foreign_host_accepted(url: str) -> None:
    _check_accepted(url)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(st.one_of(_urls, st.text(max_size=40)), max_size=8),
    st.lists(
        st.builds(
            LinkEntity,
            st.sampled_from(["url", "text_link", "bold"]),
            st.integers(-3, 400),
            st.integers(-3, 400),
            st.one_of(st.none(), _urls),
        ),
        max_size=5,
    ),
)
def test_property_messages_never_raise_and_precheck_has_no_false_negative(
    parts: list[str], entities: list[LinkEntity]
) -> None:
    text = " ".join(parts)
    found = find_links(text, entities)
    if found.refs or found.short_links:
        assert might_hold_link(text, entities)
    for ref in found.refs:
        assert ref.item_id.isdigit()


INVISIBLE = ["\u200b", "\u2060", "\u00ad", "\ufeff", "\u200d", "\u200e"]


@pytest.mark.parametrize(("link", "platform", "item_id"), FORMS)
@pytest.mark.parametrize("invisible", INVISIBLE)
def test_an_invisible_character_inside_an_id_never_cuts_it_short(
    link: str, platform: Platform, item_id: str, invisible: str
) -> None:
    at = link.index(item_id) + len(item_id) // 2
    pasted = link[:at] + invisible + link[at:]
    text = f"есть? {pasted} 🔥"
    whole = ItemRef(platform=platform, item_id=item_id)
    head = pasted.split(invisible)[0]
    for entities in (
        [],
        [LinkEntity("url", utf16("есть? "), utf16(pasted))],  # the entity spans it all
        [LinkEntity("url", utf16("есть? "), utf16(head))],  # Telegram ended it there
    ):
        refs = find_links(text, entities).refs
        assert [(r.platform, r.item_id) for r in refs] == [(whole.platform, whole.item_id)], (
            pasted,
            entities,
        )


@pytest.mark.parametrize(
    "pasted",
    [
        "https://item.taobao.com/item.htm?id=7381\u200bhello",
        "https://item.taobao.com/item.htm?id=7381%E2%80%8B04529617",
        "https://www.kakobuy.com/item/details?url=https%3A%2F%2Fitem.taobao.com"
        "%2Fitem.htm%3Fid%3D7381%E2%80%8B04529617",
    ],
)
def test_an_id_an_invisible_character_spoils_is_refused_not_cut(pasted: str) -> None:
    assert find_links(pasted, []).refs == []


@pytest.mark.parametrize(
    "text",
    [
        "see item.taobao\u200b.com/item.htm?id=738104529617",
        "see https://detail.1688\u2060.com/offer/654321987.html",
        "see https://weidian.com/item.html?itemID=7212\u00ad345678",
    ],
)
def test_the_group_pre_check_sees_what_find_links_finds_across_invisible_characters(
    text: str,
) -> None:
    assert find_links(text, []).refs
    assert might_hold_link(text, [])
