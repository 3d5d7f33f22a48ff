"""The API key never reaches a chat, however the upstream echoes it back."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.catbuy.client import CatBuyClient
from bot.catbuy.key_mask import KeyMask, fold
from bot.items.item import ItemRef, Platform
from tests.conftest import FIXTURES
from tests.fakes.catbuy_server import FakeCatBuy
from tests.fakes.telegram import message_update
from tests.harness import running_bot

KEY = "cbk_live_5ecret_k3y_do_not_leak"
ITEM_ID = "734912856301"
LINK = f"https://item.taobao.com/item.htm?id={ITEM_ID}"
REF = ItemRef(platform=Platform.TAOBAO, item_id=ITEM_ID)


def _json_escaped(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" if c in "_cbk" else c for c in text)


# How an upstream may echo the key, as the text stands in the decoded JSON.
ECHOES: dict[str, str] = {
    "as is": KEY,
    "HTML decimal entities": KEY.replace("_", "&#95;"),
    "HTML hex entities": KEY.replace("c", "&#x63;"),
    "HTML named entities": KEY.replace("_", "&lowbar;"),
    "HTML entities, encoded twice": KEY.replace("_", "&amp;#95;"),
    "a zero-width space inside": KEY[:9] + "\u200b" + KEY[9:],
    "word joiners throughout": "\u2060".join(KEY),
    "soft hyphens": KEY.replace("_", "_\u00ad"),
    "a zero-width joiner": KEY[:5] + "\u200d" + KEY[5:],
    "a BOM inside": KEY[:12] + "\ufeff" + KEY[12:],
    "spaces between letters": " ".join(KEY),
    "upper case": KEY.upper(),
    "mixed case": "".join(c.upper() if i % 2 else c for i, c in enumerate(KEY)),
    "percent-encoded": KEY.replace("_", "%5F"),
    "percent-encoded throughout": "".join(f"%{ord(c):02X}" for c in KEY),
    "percent-encoded twice": KEY.replace("_", "%255F"),
    "full-width letters": "".join(chr(ord(c) + 0xFEE0) for c in KEY),
    "a backslash-u escape in the text": KEY.replace("_", "\\u005f"),
    "combining accents": KEY.replace("e", "e\u0301"),
    "cut short by a length limit": KEY[:14],
    "its tail only": KEY[-13:],
}


@pytest.mark.parametrize("name", list(ECHOES))
def test_every_echo_is_masked_and_the_text_around_it_kept(name: str) -> None:
    mask = KeyMask(KEY)
    masked = mask.text(f"Cotton tee {ECHOES[name]} black")
    assert masked.startswith("Cotton tee ") and masked.endswith(" black"), masked
    assert "***" in masked
    assert not mask.holds_key(masked), masked


@pytest.mark.parametrize(
    "text",
    [
        "重磅280g纯棉短袖T恤 男 宽松 黑色 XL",
        "Cotton tee, 280 g/m² &amp; no shrink, 100% cotton",
        "SKU 5000000000001234 in stock: 000000000000",
        "https://img.alicdn.com/imgextra/i1/O1CN01Tb00_!!2201504432911.jpg",
        "cbk_live is a prefix only",
    ],
)
def test_product_text_without_the_key_is_left_alone(text: str) -> None:
    assert KeyMask(KEY).text(text) == text


def test_fold_drops_what_shows_nothing_and_folds_case() -> None:
    assert fold("C\u200bB\u2060K&#95;X") == "cbk_x"


def _body(edit: Callable[[dict[str, Any], str], None], echo: str) -> bytes:
    body = json.loads((FIXTURES / "taobao_two_dims.json").read_text())
    edit(body["data"], echo)
    return json.dumps(body, ensure_ascii=False).encode()


def _set(*path: str | int, form: str = "x {} y") -> Callable[[dict[str, Any], str], None]:
    def edit(data: dict[str, Any], echo: str) -> None:
        target: Any = data
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = form.format(echo)

    return edit


def _option_name(data: dict[str, Any], echo: str) -> None:
    key = next(iter(data["props_list"]))
    data["props_list"][key] = f"颜色分类:{echo}"


# Every payload text that reaches a card.
FIELDS: dict[str, Callable[[dict[str, Any], str], None]] = {
    "title": _set("title"),
    "shop name": _set("seller_info", "shop_name"),
    "attribute": _set("props", 0, form="材质: x {} y"),
    "photo URL": _set("pic_url", form="https://img.alicdn.com/{}.jpg"),
    "location": _set("location"),
    "option name": _option_name,
    "SKU id (goes into buy links)": _set("skus", "sku", 0, "sku_id", form="{}"),
}


async def _fetch(body: bytes) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    catbuy = CatBuyClient(
        "https://x.example/api/v1", SecretStr(KEY), transport=httpx.MockTransport(answer)
    )
    try:
        return await catbuy.fetch_item(LINK, ref=REF)
    finally:
        await catbuy.aclose()


@pytest.mark.parametrize("field", list(FIELDS))
@pytest.mark.parametrize("echo", ["as is", "HTML decimal entities", "a zero-width space inside"])
async def test_the_client_masks_the_key_in_every_payload_text(field: str, echo: str) -> None:
    item = await _fetch(_body(FIELDS[field], ECHOES[echo]))
    dumped = item.model_dump_json()
    assert not KeyMask(KEY).holds_key(dumped), (field, echo)
    # A photo URL with an entity or an invisible character in it is no URL: dropped.
    assert "***" in dumped or (field == "photo URL" and echo != "as is")


async def test_a_json_escaped_key_is_masked_once_decoded() -> None:
    body = _body(_set("title"), "ECHO").replace(b"ECHO", _json_escaped(KEY).encode())
    assert KEY.encode() not in body  # the bytes never hold it
    item = await _fetch(body)
    assert item.title == "x *** y"


async def test_the_key_in_a_not_found_message_is_masked() -> None:
    body = json.dumps({"code": 0, "msg": f"bad key {KEY.replace('_', '&#95;')}"}).encode()
    with pytest.raises(Exception) as caught:
        await _fetch(body)
    assert "***" in str(caught.value) and not KeyMask(KEY).holds_key(str(caught.value))


async def test_an_error_code_that_is_the_key_is_not_quoted() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"error": KEY})

    catbuy = CatBuyClient(
        "https://x.example/api/v1", SecretStr(KEY), transport=httpx.MockTransport(answer)
    )
    try:
        with pytest.raises(Exception) as caught:
            await catbuy.fetch_item(LINK, ref=REF)
    finally:
        await catbuy.aclose()
    assert not KeyMask(KEY).holds_key(str(caught.value))


@pytest.fixture
async def echoing() -> AsyncIterator[FakeCatBuy]:
    async with FakeCatBuy(KEY, rps=50) as fake:
        yield fake


async def test_a_risk_answer_echoing_the_key_is_masked(echoing: FakeCatBuy) -> None:
    match = copy.deepcopy(echoing.risk_match)
    match["result"]["reason"] = f"reported with {ECHOES['HTML decimal entities']}"
    match["result"]["category"] = ECHOES["a zero-width space inside"]
    match["result"]["details"] = {"key": ECHOES["percent-encoded"], ECHOES["upper case"]: 1}
    echoing.risk_match = match
    echoing.blacklist("buyer@example.com")
    catbuy = CatBuyClient(echoing.base_url, SecretStr(KEY), timeout=5)
    try:
        verdict = await catbuy.check_risk("email", "buyer@example.com")
    finally:
        await catbuy.aclose()
    dumped = verdict.model_dump_json()
    assert not KeyMask(KEY).holds_key(dumped) and verdict.blacklisted
    assert verdict.reason == "reported with ***"


async def test_no_card_shows_the_key_however_it_was_echoed(
    redis_url: str, echoing: FakeCatBuy
) -> None:
    body = json.loads((FIXTURES / "taobao_two_dims.json").read_text())
    data = body["data"]
    data["title"] = f"Tee {ECHOES['HTML decimal entities']}"
    data["seller_info"]["shop_name"] = ECHOES["a zero-width space inside"]
    data["location"] = ECHOES["full-width letters"]
    data["skus"]["sku"][0]["sku_id"] = ECHOES["upper case"]
    _option_name(data, ECHOES["word joiners throughout"])
    echoing.add_item(ITEM_ID, body)
    async with running_bot(redis_url, echoing) as bot:
        await bot.feed(message_update(LINK, user_id=5))
        assert len(bot.cards()) == 1
        sent = json.dumps([c.params for c in bot.session.sent], ensure_ascii=False, default=str)
    assert "***" in sent
    assert not KeyMask(KEY).holds_key(sent)
