"""The short-link resolver against a fake web: which requests it makes, and why."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Sequence

import fakeredis
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from bot.items.item import ItemRef, Platform
from bot.links.message import MAX_SHORT_LINKS, LinkEntity, collect_items
from bot.links.short_links import MAX_REDIRECTS, TRANSIENT_TTL, ShortLinkResolver
from bot.links.urls import SHORT_LINK_HOSTS, is_marketplace_host
from tests.fakes.shortlink_server import FakeShortLinkWeb, serving

ITEM = "https://item.taobao.com/item.htm?id=675330231400"
TB_REF = ItemRef(platform=Platform.TAOBAO, item_id="675330231400")
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def web() -> FakeShortLinkWeb:
    return FakeShortLinkWeb()


@pytest.fixture
async def resolver(web: FakeShortLinkWeb, redis: Redis) -> AsyncIterator[ShortLinkResolver]:
    resolver = ShortLinkResolver(redis, transport=web.transport, verify_dns=False, hop_timeout=0.5)
    yield resolver
    await resolver.aclose()


async def test_redirect_chain_ends_at_the_item_without_requesting_it(
    web: FakeShortLinkWeb, resolver: ShortLinkResolver
) -> None:
    web.redirect("https://m.tb.cn/h.aaa", "https://e.tb.cn/h.bbb?tk=1")
    web.redirect("https://e.tb.cn/h.bbb?tk=1", ITEM + "&spm=x")
    assert await resolver.resolve("https://m.tb.cn/h.aaa") == TB_REF
    assert web.requests == ["https://m.tb.cn/h.aaa", "https://e.tb.cn/h.bbb?tk=1"]


async def test_http_is_upgraded_before_any_request(
    web: FakeShortLinkWeb, resolver: ShortLinkResolver
) -> None:
    web.redirect("https://e.tb.cn/h.aaa?tk=Z", "http://m.tb.cn/h.bbb")
    web.redirect("https://m.tb.cn/h.bbb", "/h.ccc")
    web.redirect("https://m.tb.cn/h.ccc", "https://detail.tmall.com/item.htm?id=612345678901")
    ref = await resolver.resolve("http://e.tb.cn/h.aaa?tk=Z")
    assert ref == ItemRef(platform=Platform.TMALL, item_id="612345678901")
    assert web.requests == [
        "https://e.tb.cn/h.aaa?tk=Z",
        "https://m.tb.cn/h.bbb",
        "https://m.tb.cn/h.ccc",
    ]


GOOFISH_PAGE = """<html><head><title>闲鱼</title>
<link rel="icon" href="https://img.alicdn.com/favicon.ico">
<script>var url = 'https://h5.m.goofish.com/item?id=812345678901&amp;ut_sk=1.abc';
location.replace(url);</script></head><body>打开闲鱼</body></html>"""


async def test_page_with_an_embedded_item_url(
    web: FakeShortLinkWeb, resolver: ShortLinkResolver
) -> None:
    web.page("https://m.tb.cn/h.xianyu", GOOFISH_PAGE)
    assert await resolver.resolve("https://m.tb.cn/h.xianyu") == ItemRef(
        platform=Platform.GOOFISH, item_id="812345678901"
    )
    assert web.requests == ["https://m.tb.cn/h.xianyu"]


async def test_page_with_a_json_escaped_item_url(
    web: FakeShortLinkWeb, resolver: ShortLinkResolver
) -> None:
    web.page(
        "https://m.tb.cn/h.json", '{"url":"https:\\/\\/item.taobao.com\\/item.htm?id=675330231400"}'
    )
    assert await resolver.resolve("https://m.tb.cn/h.json") == TB_REF


async def test_page_naming_only_lookalikes_gives_nothing(
    web: FakeShortLinkWeb, resolver: ShortLinkResolver
) -> None:
    body = "<a href='https://item.taobao.com.evil.com/item.htm?id=1234567'>x</a>"
    web.page("https://m.tb.cn/h.evil", body)
    assert await resolver.resolve("https://m.tb.cn/h.evil") is None
    assert web.hosts == ["m.tb.cn"]


@pytest.mark.parametrize(
    "location",
    [
        "https://evil.com/h.aaa",
        "https://m.tb.cn.evil.com/h.aaa",
        "https://127.0.0.1/item.htm?id=1234567",
        "https://[::1]/x",
        "https://10.0.0.8:8443/x",
        "//evil.com/x",
        "ftp://m.tb.cn/h.aaa",
        "https://m.tb.cn:8443/h.aaa",
        "https://user@m.tb.cn/h.aaa",
    ],
)
async def test_redirect_to_a_forbidden_place_is_not_followed(
    web: FakeShortLinkWeb, resolver: ShortLinkResolver, location: str
) -> None:
    web.redirect("https://m.tb.cn/h.start", location)
    assert await resolver.resolve("https://m.tb.cn/h.start") is None
    assert web.requests == ["https://m.tb.cn/h.start"]


async def test_a_redirect_loop_stops_after_three_redirects(
    web: FakeShortLinkWeb, resolver: ShortLinkResolver
) -> None:
    web.redirect("https://m.tb.cn/h.a", "https://e.tb.cn/h.b")
    web.redirect("https://e.tb.cn/h.b", "https://m.tb.cn/h.a")
    assert await resolver.resolve("https://m.tb.cn/h.a") is None
    assert len(web.requests) == 1 + MAX_REDIRECTS == 4
    assert web.requests[:2] == ["https://m.tb.cn/h.a", "https://e.tb.cn/h.b"]


async def test_a_long_chain_is_cut_at_the_fourth_request(
    web: FakeShortLinkWeb, resolver: ShortLinkResolver
) -> None:
    for n in range(6):
        web.redirect(f"https://m.tb.cn/h.{n}", f"https://m.tb.cn/h.{n + 1}")
    web.redirect("https://m.tb.cn/h.6", ITEM)
    assert await resolver.resolve("https://m.tb.cn/h.0") is None
    assert web.requests == [f"https://m.tb.cn/h.{n}" for n in range(4)]


async def test_a_huge_body_is_read_only_up_to_the_cap(web: FakeShortLinkWeb, redis: Redis) -> None:
    web.endless("https://m.tb.cn/h.huge")
    resolver = ShortLinkResolver(
        redis, transport=web.transport, verify_dns=False, max_body=256 * 1024
    )
    try:
        assert await resolver.resolve("https://m.tb.cn/h.huge") is None
    finally:
        await resolver.aclose()
    assert web.requests == ["https://m.tb.cn/h.huge"]
    assert web.bytes_sent <= 256 * 1024 + 2 * 65536


async def test_an_item_past_the_body_cap_is_not_seen(web: FakeShortLinkWeb, redis: Redis) -> None:
    padding = "<!--" + "x" * 2048 + "-->"
    web.page("https://m.tb.cn/h.early", padding + ITEM)
    web.page("https://m.tb.cn/h.late", padding * 4 + ITEM)
    resolver = ShortLinkResolver(redis, transport=web.transport, verify_dns=False, max_body=4096)
    try:
        assert await resolver.resolve("https://m.tb.cn/h.early") == TB_REF
        assert await resolver.resolve("https://m.tb.cn/h.late") is None
    finally:
        await resolver.aclose()


async def test_a_hanging_host_times_out(web: FakeShortLinkWeb, redis: Redis) -> None:
    web.hang("https://m.tb.cn/h.slow")
    resolver = ShortLinkResolver(redis, transport=web.transport, verify_dns=False, hop_timeout=0.2)
    try:
        async with asyncio.timeout(5):
            assert await resolver.resolve("https://m.tb.cn/h.slow") is None
        # A timeout is transient: remembered for minutes, not a day.
        keys = [key async for key in redis.scan_iter("sl:*")]
        assert len(keys) == 1
        assert 0 < await redis.ttl(keys[0]) <= TRANSIENT_TTL
    finally:
        await resolver.aclose()
    assert web.requests == ["https://m.tb.cn/h.slow"]


async def test_results_are_cached_under_sl_keys(web: FakeShortLinkWeb, store: Redis) -> None:
    web.redirect("https://m.tb.cn/h.ok", ITEM)
    web.page("https://m.tb.cn/h.none", "<html>nothing here</html>")
    resolver = ShortLinkResolver(store, transport=web.transport, verify_dns=False)
    try:
        for _ in range(3):
            assert await resolver.resolve("https://m.tb.cn/h.ok") == TB_REF
            assert await resolver.resolve("http://m.tb.cn/h.none") is None
    finally:
        await resolver.aclose()
    assert web.requests == ["https://m.tb.cn/h.ok", "https://m.tb.cn/h.none"]
    keys = [key async for key in store.scan_iter("sl:*")]
    assert len(keys) == 2
    for key in keys:
        assert 86000 < await store.ttl(key) <= 86400
        assert b"h.ok" not in key and b"tk" not in key


async def test_server_errors_and_missing_pages(
    web: FakeShortLinkWeb, resolver: ShortLinkResolver
) -> None:
    web.page("https://m.tb.cn/h.err", "oops", status=503)
    assert await resolver.resolve("https://m.tb.cn/h.err") is None
    assert await resolver.resolve("https://m.tb.cn/h.missing") is None
    assert web.requests == ["https://m.tb.cn/h.err", "https://m.tb.cn/h.missing"]


async def test_a_marketplace_page_on_the_way_may_be_requested(
    web: FakeShortLinkWeb, resolver: ShortLinkResolver
) -> None:
    web.redirect("https://m.tb.cn/h.mk", "https://market.m.taobao.com/app/share?x=1")
    web.page("https://market.m.taobao.com/app/share?x=1", f"<script>go('{ITEM}')</script>")
    assert await resolver.resolve("https://m.tb.cn/h.mk") == TB_REF
    assert web.hosts == ["m.tb.cn", "market.m.taobao.com"]


async def test_redirect_to_an_agent_link_decodes_it_without_a_request(
    web: FakeShortLinkWeb, resolver: ShortLinkResolver
) -> None:
    web.redirect(
        "https://k.youshop10.com/aBc", "https://cnfans.com/product/?shop_type=weidian&id=7231406953"
    )
    ref = await resolver.resolve("https://k.youshop10.com/aBc")
    assert ref == ItemRef(platform=Platform.WEIDIAN, item_id="7231406953")
    assert web.requests == ["https://k.youshop10.com/aBc"]


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.com/h.aaa",
        "https://m.tb.cn.evil.com/h.aaa",
        "https://m.tb.cn/",
        "https://127.0.0.1/h.a",
        "javascript:alert(1)",
        "",
    ],
)
async def test_only_short_link_hosts_are_ever_requested(
    web: FakeShortLinkWeb, resolver: ShortLinkResolver, url: str
) -> None:
    assert await resolver.resolve(url) is None
    assert web.requests == []


async def test_an_item_url_needs_no_request(
    web: FakeShortLinkWeb, resolver: ShortLinkResolver
) -> None:
    assert await resolver.resolve(ITEM) == TB_REF
    assert web.requests == []


class RecordingDns:
    """DNS at its boundary: fixed answers, and a record of the names asked."""

    def __init__(self, addresses: Sequence[str]) -> None:
        self.addresses = list(addresses)
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        return self.addresses


@pytest.mark.parametrize(
    "addresses",
    [["127.0.0.1"], ["10.1.2.3"], ["192.168.0.7"], ["::1"], ["169.254.169.254"], ["203.0.113.9"]],
)
async def test_hosts_resolving_to_private_addresses_are_refused(
    web: FakeShortLinkWeb, redis: Redis, addresses: list[str]
) -> None:
    web.redirect("https://m.tb.cn/h.dns", ITEM)
    dns = RecordingDns([*addresses, "47.246.1.1"])
    resolver = ShortLinkResolver(redis, transport=web.transport, resolve_host=dns)
    try:
        assert await resolver.resolve("https://m.tb.cn/h.dns") is None
    finally:
        await resolver.aclose()
    assert dns.asked == ["m.tb.cn"]
    assert web.requests == []


async def test_public_addresses_are_allowed(web: FakeShortLinkWeb, redis: Redis) -> None:
    web.redirect("https://m.tb.cn/h.pub", ITEM)
    dns = RecordingDns(["47.246.1.1", "2408:4000::1"])
    resolver = ShortLinkResolver(redis, transport=web.transport, resolve_host=dns)
    try:
        assert await resolver.resolve("https://m.tb.cn/h.pub") == TB_REF
    finally:
        await resolver.aclose()
    assert dns.asked == ["m.tb.cn"]


async def test_a_host_that_does_not_resolve_is_said_so_and_asked_again_soon(
    web: FakeShortLinkWeb, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    web.redirect("https://m.tb.cn/h.nodns", ITEM)

    async def no_dns(host: str, port: int) -> Sequence[str]:
        raise socket.gaierror(-2, "Name or service not known")

    resolver = ShortLinkResolver(redis, transport=web.transport, resolve_host=no_dns)
    try:
        with caplog.at_level(logging.INFO, logger="bot.links.short_links"):
            assert await resolver.resolve("https://m.tb.cn/h.nodns") is None
    finally:
        await resolver.aclose()
    assert "m.tb.cn: DNS look-up failed" in caplog.text and "private" not in caplog.text
    assert web.requests == []
    [key] = await redis.keys("sl:*")
    assert 0 < await redis.ttl(key) <= TRANSIENT_TTL


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_behind_a_proxy_names_are_left_to_the_proxy(
    web: FakeShortLinkWeb, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{_closed_port()}")
    web.redirect("https://m.tb.cn/h.proxied", ITEM)
    dns = RecordingDns(["127.0.0.1"])
    resolver = ShortLinkResolver(redis, transport=web.transport, resolve_host=dns)
    try:
        assert await resolver.resolve("https://m.tb.cn/h.proxied") == TB_REF
    finally:
        await resolver.aclose()
    assert dns.asked == []


async def test_https_proxy_from_the_environment_is_used_by_host_name(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readline())
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
    resolver = ShortLinkResolver(redis, hop_timeout=2.0)
    try:
        assert await resolver.resolve("http://m.tb.cn/h.viaproxy") is None
    finally:
        await resolver.aclose()
        server.close()
        await server.wait_closed()
    assert seen == [b"CONNECT m.tb.cn:443 HTTP/1.1\r\n"]


async def test_no_proxy_hosts_still_get_the_dns_check(
    web: FakeShortLinkWeb, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("NO_PROXY", "m.tb.cn")
    dns = RecordingDns(["127.0.0.1"])
    resolver = ShortLinkResolver(redis, transport=web.transport, resolve_host=dns)
    try:
        assert await resolver.resolve("https://m.tb.cn/h.direct") is None
    finally:
        await resolver.aclose()
    assert dns.asked == ["m.tb.cn"]


async def test_collect_items_merges_resolved_short_links_in_order(
    web: FakeShortLinkWeb, resolver: ShortLinkResolver
) -> None:
    web.redirect("https://e.tb.cn/h.one?tk=A", "https://weidian.com/item.html?itemID=7231406953")
    web.redirect("https://m.tb.cn/h.dup", ITEM)
    text = (
        "【淘宝】https://e.tb.cn/h.one?tk=A 「卫衣」\n"
        f"{ITEM}\n"
        "https://m.tb.cn/h.dup and https://m.tb.cn/h.broken "
        "https://detail.1688.com/offer/641649880094.html "
        "https://goofish.com/item/812345678901"
    )
    collected = await collect_items(text, [], resolver, limit=3)
    assert [ref.key for ref in collected.items] == [
        "weidian:7231406953",
        "taobao:675330231400",
        "1688:641649880094",
    ]
    assert [ref.key for ref in collected.skipped] == ["goofish:812345678901"]
    assert collected.unresolved == 1


async def test_short_links_past_the_tenth_are_counted_untried_not_opened(
    web: FakeShortLinkWeb, resolver: ShortLinkResolver
) -> None:
    shorts = [f"https://m.tb.cn/h.n{n}" for n in range(12)]
    for n, url in enumerate(shorts):
        web.redirect(url, f"https://item.taobao.com/item.htm?id={700000000000 + n}")
    text = " ".join([shorts[0], *shorts])  # a repeated link takes no second slot
    collected = await collect_items(text, [], resolver, limit=3)
    assert len(collected.items) + len(collected.skipped) == MAX_SHORT_LINKS
    assert collected.untried == 2
    assert sorted(set(web.requests)) == sorted(shorts[:MAX_SHORT_LINKS])


async def test_collect_items_without_a_resolver_counts_short_links_unresolved() -> None:
    text = "https://e.tb.cn/h.x?tk=1 https://weidian.com/item.html?itemID=7231406953"
    entities = [LinkEntity("url", 0, 24)]
    collected = await collect_items(text, entities, None, limit=3)
    assert [ref.key for ref in collected.items] == ["weidian:7231406953"]
    assert collected.skipped == []
    assert collected.unresolved == 1


def _allowed_to_contact(url: str) -> bool:
    parsed = httpx.URL(url)
    host = parsed.host
    return (
        parsed.scheme == "https"
        and parsed.port is None
        and (host in SHORT_LINK_HOSTS or is_marketplace_host(host))
    )


_locations = st.one_of(
    st.sampled_from(
        [
            "https://m.tb.cn/h.next",
            "http://e.tb.cn/h.next2",
            "/h.relative",
            "//evil.com/x",
            "https://evil.com/h.x",
            "https://m.tb.cn.evil.com/h.x",
            "https://127.0.0.1/h.x",
            "http://[::1]/x",
            "https://taobao.com@evil.com/x",
            "https://login.taobao.com/member/login.jhtml",
            "https://m.tb.cn:444/h.x",
            "https://ｍ.tb.cn/h.fw",
            "https://m\u3002tb\u3002cn/h.dots",
            "javascript:alert(1)",
            "https://item.taobao.com/item.htm?id=12345",
        ]
    ),
    st.text(max_size=30),
)
_starts = st.one_of(
    st.sampled_from(
        [
            "https://m.tb.cn/h.start",
            "http://e.tb.cn/h.s?tk=1",
            "k.youshop10.com/x",
            "https://evil.com/",
        ]
    ),
    st.text(max_size=40),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_starts, st.lists(_locations, min_size=1, max_size=6))
def test_property_no_input_makes_the_resolver_contact_another_host(
    start: str, locations: list[str]
) -> None:
    requested: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        location = locations[(len(requested) - 1) % len(locations)]
        return httpx.Response(302, headers=[(b"Location", location.encode("utf-8", "replace"))])

    async def run() -> None:
        store = fakeredis.FakeAsyncRedis()
        resolver = ShortLinkResolver(store, transport=httpx.MockTransport(answer), verify_dns=False)
        try:
            await resolver.resolve(start)
        finally:
            await resolver.aclose()
            await store.aclose()

    asyncio.run(run())
    assert len(requested) <= 1 + MAX_REDIRECTS
    assert all(_allowed_to_contact(url) for url in requested), requested


async def test_over_a_real_socket_chain_page_cap_and_hang(redis: Redis) -> None:
    web = FakeShortLinkWeb()
    web.redirect("https://m.tb.cn/h.net", "http://e.tb.cn/h.page?tk=9")
    web.page("https://e.tb.cn/h.page?tk=9", GOOFISH_PAGE)
    web.endless("https://m.tb.cn/h.huge")
    web.hang("https://m.tb.cn/h.slow")
    web.redirect("https://m.tb.cn/h.evil", "https://evil.com/x")
    async with serving(web) as transport:
        resolver = ShortLinkResolver(
            redis, transport=transport, verify_dns=False, hop_timeout=0.5, max_body=64 * 1024
        )
        try:
            async with asyncio.timeout(20):
                assert await resolver.resolve("m.tb.cn/h.net") == ItemRef(
                    platform=Platform.GOOFISH, item_id="812345678901"
                )
                assert await resolver.resolve("https://m.tb.cn/h.huge") is None
                assert await resolver.resolve("https://m.tb.cn/h.slow") is None
                assert await resolver.resolve("https://m.tb.cn/h.evil") is None
        finally:
            await resolver.aclose()
    assert web.requests == [
        "https://m.tb.cn/h.net",
        "https://e.tb.cn/h.page?tk=9",
        "https://m.tb.cn/h.huge",
        "https://m.tb.cn/h.slow",
        "https://m.tb.cn/h.evil",
    ]


async def test_agent_short_links_resolve_to_the_item_their_agent_page_names(
    web: FakeShortLinkWeb, resolver: ShortLinkResolver
) -> None:
    wrapped = "https%3A%2F%2Fweidian.com%2Fitem.html%3FitemID%3D7231406953"
    web.redirect("https://ikako.vip/s/Ab12", f"https://www.kakobuy.com/item/details?url={wrapped}")
    web.redirect(
        "https://link.acbuy.com/x9", "https://www.acbuy.com/product?id=675330231400&source=TB"
    )
    web.redirect("https://sl.kakobuy.com/k1", "https://www.kakobuy.com/account/login")
    assert await resolver.resolve("https://ikako.vip/s/Ab12") == ItemRef(
        platform=Platform.WEIDIAN, item_id="7231406953"
    )
    assert await resolver.resolve("http://link.acbuy.com/x9") == ItemRef(
        platform=Platform.TAOBAO, item_id="675330231400"
    )
    # An agent page that names no item is not requested: the agent's site is no
    # short-link host, and only those and marketplaces are ever contacted.
    assert await resolver.resolve("https://sl.kakobuy.com/k1") is None
    assert web.requests == [
        "https://ikako.vip/s/Ab12",
        "https://link.acbuy.com/x9",
        "https://sl.kakobuy.com/k1",
    ]
    assert "ikako.vip.evil.com" not in SHORT_LINK_HOSTS
    assert await resolver.resolve("https://ikako.vip.evil.com/s/Ab12") is None
