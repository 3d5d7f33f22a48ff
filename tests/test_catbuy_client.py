"""The CatBuy client against the fake upstream: success, every failure, no leaks."""

from __future__ import annotations

import gzip
import json
import logging
import socket
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr

from bot.catbuy.client import CatBuyClient
from bot.catbuy.errors import (
    AuthError,
    BadResponse,
    CatBuyError,
    InsufficientBalance,
    InvalidRequest,
    InvalidUrl,
    ItemNotFound,
    MissingParameter,
    NetworkError,
    RateLimited,
    ServerError,
    UpstreamTimeout,
)
from bot.items.item import ItemRef, Platform
from tests.conftest import FIXTURES
from tests.fakes.catbuy_server import FakeCatBuy

KEY = "cbk_live_5ecret_k3y_do_not_leak"
URL = "https://item.taobao.com/item.htm?id=734912856301"


@pytest.fixture(autouse=True)
def no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client honours proxy variables; keep a CI proxy off the loopback fake."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.fixture
async def fake() -> AsyncIterator[FakeCatBuy]:
    async with FakeCatBuy(KEY, rps=1000) as server:
        yield server


@pytest.fixture
async def client(fake: FakeCatBuy) -> AsyncIterator[CatBuyClient]:
    catbuy = CatBuyClient(fake.base_url, SecretStr(KEY), timeout=2.0)
    yield catbuy
    await catbuy.aclose()


def assert_no_secret(exc: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    assert KEY not in str(exc) and KEY not in repr(exc)
    assert exc.__cause__ is None or KEY not in repr(exc.__cause__)
    assert KEY not in caplog.text
    assert all(KEY not in str(r.args) for r in caplog.records)


async def test_fetches_an_item_with_form_body_and_key_header(
    fake: FakeCatBuy, client: CatBuyClient
) -> None:
    item = await client.fetch_item(URL, lang="ru", tid="u42")
    assert (item.platform, item.item_id) == (Platform.TAOBAO, "734912856301")
    assert item.price is not None and item.price.high == Decimal("109.00")
    (seen,) = fake.requests
    assert (seen.method, seen.path) == ("POST", "/api/v1/item")
    assert seen.form == {"url": URL, "searchlang": "ru", "tid": "u42"}
    assert seen.api_key == KEY


async def test_default_language_and_no_tid(fake: FakeCatBuy, client: CatBuyClient) -> None:
    await client.fetch_item("https://detail.1688.com/offer/812345609871.html")
    assert fake.requests[0].form == {
        "url": "https://detail.1688.com/offer/812345609871.html",
        "searchlang": "en",
    }


async def test_ref_fixes_the_identity(client: CatBuyClient) -> None:
    ref = ItemRef(platform=Platform.GOOFISH, item_id="905512387764")
    item = await client.fetch_item(ref.canonical_url, ref=ref)
    assert item.ref == ref and item.original_price == Decimal("1399.00")


async def test_unknown_item(client: CatBuyClient) -> None:
    with pytest.raises(ItemNotFound) as caught:
        await client.fetch_item("https://item.taobao.com/item.htm?id=1")
    assert caught.value.may_be_billed


async def test_risk_check(fake: FakeCatBuy, client: CatBuyClient) -> None:
    fake.blacklist("buyer.one@example.com")
    verdict = await client.check_risk("email", "buyer.one@example.com")
    assert verdict.blacklisted and verdict.risk_score == 85
    assert verdict.category == "chargeback_user" and verdict.match_type == "email"
    assert verdict.details["orderId"] == "ORD-8842" and verdict.cost == Decimal("0.03")
    assert "buyer.one" not in verdict.model_dump_json()
    clean = await client.check_risk("ip", "10.0.0.1")
    assert not clean.blacklisted and clean.risk_score == 0 and clean.details == {}
    assert fake.requests[-1].form == {"type": "ip", "value": "10.0.0.1"}
    with pytest.raises(InvalidRequest):
        await client.check_risk("shoe", "x")


@pytest.mark.parametrize(
    ("forced", "error"),
    [
        (402, InsufficientBalance),
        (401, AuthError),
        (500, ServerError),
        (503, ServerError),
        (418, ServerError),
        ("html", BadResponse),
        ("invalid_json", BadResponse),
        ("drop", NetworkError),
    ],
)
async def test_each_failure_has_its_class(
    fake: FakeCatBuy,
    client: CatBuyClient,
    caplog: pytest.LogCaptureFixture,
    forced: int | str,
    error: type[CatBuyError],
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.force(forced)  # type: ignore[arg-type]
    with pytest.raises(error) as caught:
        await client.fetch_item(URL)
    assert type(caught.value) is error
    assert len(str(caught.value)) < 100
    assert_no_secret(caught.value, caplog)
    assert fake.calls == 1  # one request per call: no retries here


@pytest.mark.parametrize(
    ("key", "url", "error", "code"),
    [
        ("cbk_wrong", URL, AuthError, "invalid_api_key"),
        (KEY, "", MissingParameter, "missing_parameter"),
        (KEY, "https://evil-taobao.com/item.htm?id=1", InvalidUrl, "invalid_url"),
    ],
)
async def test_documented_errors_from_the_upstream(
    fake: FakeCatBuy,
    caplog: pytest.LogCaptureFixture,
    key: str,
    url: str,
    error: type[CatBuyError],
    code: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    catbuy = CatBuyClient(fake.base_url, SecretStr(key), timeout=2.0)
    try:
        with pytest.raises(error) as caught:
            await catbuy.fetch_item(url)
    finally:
        await catbuy.aclose()
    assert code in str(caught.value)
    assert_no_secret(caught.value, caplog)


async def test_rate_limited_with_retry_after(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeCatBuy(KEY, rps=1, retry_after="2") as fake:
        catbuy = CatBuyClient(fake.base_url, SecretStr(KEY), timeout=2.0)
        try:
            await catbuy.fetch_item(URL)
            with pytest.raises(RateLimited) as caught:
                await catbuy.fetch_item(URL)
        finally:
            await catbuy.aclose()
    assert caught.value.retry_after == 2.0 and "rate_limited" in str(caught.value)
    assert fake.rejected_429 == 1
    assert_no_secret(caught.value, caplog)


async def test_rate_limited_without_retry_after(fake: FakeCatBuy, client: CatBuyClient) -> None:
    fake.force(429)
    with pytest.raises(RateLimited) as caught:
        await client.fetch_item(URL)
    assert caught.value.retry_after is None


async def test_wrong_shapes_are_bad_responses(fake: FakeCatBuy, client: CatBuyClient) -> None:
    fake.add_item("1", [1, 2, 3])
    fake.add_item("2", {"code": 1, "data": "nope"})
    for item_id in ("1", "2"):
        with pytest.raises(BadResponse):
            await client.fetch_item(f"https://item.taobao.com/item.htm?id={item_id}")


async def test_timeout_when_the_upstream_hangs(
    fake: FakeCatBuy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.force("hang", times=None)
    catbuy = CatBuyClient(fake.base_url, SecretStr(KEY), timeout=0.3)
    try:
        with pytest.raises(UpstreamTimeout) as caught:
            await catbuy.fetch_item(URL)
        with pytest.raises(UpstreamTimeout):
            await catbuy.check_risk("email", "a@b.example")
    finally:
        await catbuy.aclose()
    assert caught.value.sent  # the request went out: it may be billed
    assert_no_secret(caught.value, caplog)


async def test_slow_upstream_within_the_timeout_is_fine(fake: FakeCatBuy) -> None:
    fake.latency = 0.2
    catbuy = CatBuyClient(fake.base_url, SecretStr(KEY), timeout=2.0)
    try:
        assert (await catbuy.fetch_item(URL)).item_id == "734912856301"
    finally:
        await catbuy.aclose()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_network_error_on_a_closed_port(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    catbuy = CatBuyClient(f"http://127.0.0.1:{closed_port()}/api/v1", SecretStr(KEY))
    try:
        with pytest.raises(NetworkError) as caught:
            await catbuy.fetch_item(URL)
    finally:
        await catbuy.aclose()
    assert not caught.value.may_be_billed
    assert not caught.value.sent  # no connection: nothing reached the upstream
    assert_no_secret(caught.value, caplog)


async def test_oversized_answer_is_a_bad_response(fake: FakeCatBuy, client: CatBuyClient) -> None:
    fake.add_item("3", {"code": 1, "data": {"num_iid": "3", "title": "x" * (5 * 1024 * 1024)}})
    with pytest.raises(BadResponse):
        await client.fetch_item("https://item.taobao.com/item.htm?id=3")


async def test_transport_and_headers_through_an_httpx_transport() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="<html>Bad gateway</html>")

    catbuy = CatBuyClient(
        "https://services.example/api/v1/",
        SecretStr(KEY),
        transport=httpx.MockTransport(answer),
    )
    try:
        with pytest.raises(BadResponse) as caught:
            await catbuy.check_risk("email", "someone@example.com")
    finally:
        await catbuy.aclose()
    (request,) = seen
    assert str(request.url) == "https://services.example/api/v1/blacklist/check"
    assert request.headers["X-API-Key"] == KEY
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.content == b"type=email&value=someone%40example.com"
    assert "someone" not in str(caught.value)


async def test_proxy_variables_are_honoured(
    fake: FakeCatBuy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fake answers absolute-form requests, so it can stand in for a proxy.
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{fake.port}")
    through_proxy = CatBuyClient("http://upstream.invalid/api/v1", SecretStr(KEY))
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    bypassing = CatBuyClient(fake.base_url, SecretStr(KEY))  # 127.0.0.1 is in NO_PROXY
    try:
        assert (await through_proxy.fetch_item(URL)).item_id == "734912856301"
        assert (await bypassing.fetch_item(URL)).item_id == "734912856301"
    finally:
        await through_proxy.aclose()
        await bypassing.aclose()
    assert fake.calls == 2


async def test_json_labelled_as_html_is_still_json() -> None:
    body = (FIXTURES / "weidian_single.json").read_bytes()

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"Content-Type": "text/html"})

    catbuy = CatBuyClient(
        "https://x.example/api/v1", SecretStr(KEY), transport=httpx.MockTransport(answer)
    )
    try:
        assert (await catbuy.fetch_item("https://weidian.com/item.html?itemID=7401128856")).title
    finally:
        await catbuy.aclose()


async def test_each_request_keeps_what_the_client_would_have_merged() -> None:
    """Requests are built once per call, yet carry the client's defaults: the
    compression it accepts, its timeouts, keep-alive."""
    seen: list[httpx.Request] = []
    body = gzip.compress((FIXTURES / "weidian_single.json").read_bytes())

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=body, headers={"Content-Encoding": "gzip"})

    catbuy = CatBuyClient(
        "https://x.example/api/v1",
        SecretStr(KEY),
        timeout=7.0,
        transport=httpx.MockTransport(answer),
    )
    try:
        item = await catbuy.fetch_item("https://weidian.com/item.html?itemID=7401128856")
    finally:
        await catbuy.aclose()
    assert item.title
    (request,) = seen
    assert "gzip" in request.headers["Accept-Encoding"]
    assert request.headers["Host"] == "x.example"
    assert request.headers["Connection"] == "keep-alive"
    assert request.headers["Content-Length"] == str(len(request.content))
    assert request.extensions["timeout"] == {"connect": 5.0, "read": 7.0, "write": 7.0, "pool": 7.0}


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("a byte-order mark", b"\xef\xbb\xbf" + (FIXTURES / "weidian_single.json").read_bytes()),
        (
            "half an emoji",
            json.dumps({"code": 1, "data": {"num_iid": "7", "title": "Mug \ud83d"}}).encode(),
        ),
    ],
)
async def test_json_the_fast_decoder_refuses_still_reads(name: str, body: bytes) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    catbuy = CatBuyClient(
        "https://x.example/api/v1", SecretStr(KEY), transport=httpx.MockTransport(answer)
    )
    try:
        item = await catbuy.fetch_item(
            "https://weidian.com/item.html?itemID=7",
            ref=ItemRef(platform=Platform.WEIDIAN, item_id="7"),
        )
    finally:
        await catbuy.aclose()
    assert item.title, name


async def test_an_upstream_echoing_the_key_does_not_put_it_in_the_item(
    fake: FakeCatBuy, client: CatBuyClient
) -> None:
    body = json.loads((FIXTURES / "taobao_two_dims.json").read_text())
    body["data"]["title"] = f"Echo {KEY} title"
    body["data"]["nick"] = KEY
    fake.add_item("734912856301", body)
    item = await client.fetch_item("https://item.taobao.com/item.htm?id=734912856301")
    assert KEY not in item.model_dump_json()
    assert item.title == "Echo *** title"
