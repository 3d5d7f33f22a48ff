"""The fake upstream follows the reference: auth, allow-list, errors, RPS window."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import FIXTURES
from tests.fakes.catbuy_server import FakeCatBuy, item_id_of

KEY = "cbk_fake_secret_0123"
ITEM_URL = "https://item.taobao.com/item.htm?id=734912856301"
ROOT = Path(__file__).resolve().parent.parent
CLEAN = json.loads((FIXTURES / "risk_clean.json").read_text())


@pytest.fixture
async def fake() -> AsyncIterator[FakeCatBuy]:
    async with FakeCatBuy(KEY, rps=100) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
        yield client


async def post(
    http: httpx.AsyncClient, fake: FakeCatBuy, path: str, key: str | None = KEY, **form: str
) -> httpx.Response:
    headers = {"X-API-Key": key} if key is not None else {}
    return await http.post(fake.base_url + path, data=form, headers=headers)


async def test_serves_fixture_items_by_id(fake: FakeCatBuy, http: httpx.AsyncClient) -> None:
    answer = await post(http, fake, "/item", url=ITEM_URL, searchlang="zh", tid="t1")
    assert answer.status_code == 200
    assert answer.json()["data"]["num_iid"] == "734912856301"
    (seen,) = fake.requests
    assert seen.form == {"url": ITEM_URL, "searchlang": "zh", "tid": "t1"}
    assert (seen.api_key, seen.status, seen.path) == (KEY, 200, "/api/v1/item")
    assert set(fake.items) >= {"734912856301", "812345609871", "905512387764", "7401128856"}


async def test_unknown_item_is_code_zero(fake: FakeCatBuy, http: httpx.AsyncClient) -> None:
    answer = await post(http, fake, "/item", url="https://detail.tmall.com/item.htm?id=1")
    assert answer.status_code == 200 and answer.json()["code"] == 0


async def test_registered_items(fake: FakeCatBuy, http: httpx.AsyncClient) -> None:
    fake.add_item("42", {"code": 1, "data": {"num_iid": "42", "title": "T"}})
    answer = await post(http, fake, "/item", url="https://weidian.com/item.html?itemID=42")
    assert answer.json()["data"]["title"] == "T"


@pytest.mark.parametrize(
    ("key", "form", "status", "code"),
    [
        (None, {"url": ITEM_URL}, 401, "missing_api_key"),
        ("cbk_wrong", {"url": ITEM_URL}, 401, "invalid_api_key"),
        (KEY, {}, 400, "missing_parameter"),
        (KEY, {"url": "https://taobao.com.evil.com/item.htm?id=1"}, 400, "invalid_url"),
        (KEY, {"url": "https://taobao.com@evil.com/"}, 400, "invalid_url"),
        (KEY, {"url": "ftp://item.taobao.com/item.htm?id=1"}, 400, "invalid_url"),
    ],
)
async def test_documented_errors(
    fake: FakeCatBuy,
    http: httpx.AsyncClient,
    key: str | None,
    form: dict[str, str],
    status: int,
    code: str,
) -> None:
    answer = await post(http, fake, "/item", key=key, **form)
    assert (answer.status_code, answer.json()["error"]) == (status, code)


async def test_post_only(fake: FakeCatBuy, http: httpx.AsyncClient) -> None:
    answer = await http.get(fake.base_url + "/item", headers={"X-API-Key": KEY})
    assert answer.status_code == 405 and fake.calls == 1


async def test_risk_checks(fake: FakeCatBuy, http: httpx.AsyncClient) -> None:
    fake.blacklist("bad@example.com")
    listed = await post(http, fake, "/blacklist/check", type="email", value="bad@example.com")
    clean = await post(http, fake, "/blacklist/check", type="ip", value="1.2.3.4")
    assert listed.json()["result"]["blacklisted"] is True
    assert listed.json()["checked"] == {"type": "email", "value": "bad@example.com"}
    assert (
        clean.json()["result"]
        == json.loads((Path(__file__).parent / "fixtures/catbuy/risk_clean.json").read_text())[
            "result"
        ]
    )
    assert clean.json()["checked"]["value"] == "1.2.3.4"
    bad = await post(http, fake, "/blacklist/check", type="shoe", value="x")
    missing = await post(http, fake, "/blacklist/check", type="email")
    assert (bad.status_code, missing.status_code) == (400, 400)
    assert fake.calls_to("/blacklist/check") == 4 and fake.calls_to("/item") == 0


async def test_forced_failures_for_next_n_then_normal(
    fake: FakeCatBuy, http: httpx.AsyncClient
) -> None:
    fake.force(402, times=2)
    fake.force("html")
    statuses = [(await post(http, fake, "/item", url=ITEM_URL)) for _ in range(4)]
    assert [a.status_code for a in statuses] == [402, 402, 200, 200]
    assert statuses[0].json()["error"] == "insufficient_balance"
    assert statuses[2].headers["content-type"].startswith("text/html")
    fake.force("invalid_json", times=None)
    for _ in range(2):
        with pytest.raises(json.JSONDecodeError):
            (await post(http, fake, "/item", url=ITEM_URL)).json()
    fake.clear_forced()
    assert (await post(http, fake, "/item", url=ITEM_URL)).json()["code"] == 1


async def test_hang_and_drop(fake: FakeCatBuy, http: httpx.AsyncClient) -> None:
    fake.force("hang")
    with pytest.raises(httpx.ReadTimeout):
        await http.post(fake.base_url + "/item", data={"url": ITEM_URL}, timeout=0.3)
    fake.force("drop")
    with pytest.raises(httpx.RemoteProtocolError):
        await post(http, fake, "/item", url=ITEM_URL)


async def test_sliding_window_rejects_the_third_in_a_second(http: httpx.AsyncClient) -> None:
    async with FakeCatBuy(KEY, rps=2) as fake:
        burst = await asyncio.gather(*(post(http, fake, "/item", url=ITEM_URL) for _ in range(3)))
        assert sorted(a.status_code for a in burst) == [200, 200, 429]
        (rejected,) = [a for a in burst if a.status_code == 429]
        assert rejected.json()["error"] == "rate_limited"
        assert (fake.rejected_429, fake.max_in_any_second, fake.calls) == (1, 3, 3)
        await asyncio.sleep(1.05)  # the window slides past the burst
        assert (await post(http, fake, "/item", url=ITEM_URL)).status_code == 200
        assert fake.max_in_any_second == 3


async def test_spaced_requests_are_never_limited(http: httpx.AsyncClient) -> None:
    async with FakeCatBuy(KEY, rps=2) as fake:
        for _ in range(4):
            assert (
                await post(http, fake, "/blacklist/check", type="ip", value="1.1.1.1")
            ).is_success
            await asyncio.sleep(0.52)
        assert (fake.rejected_429, fake.max_in_any_second) == (0, 2)


def test_item_ids_in_common_url_forms() -> None:
    assert item_id_of("https://detail.1688.com/offer/812345609871.html") == "812345609871"
    assert item_id_of("https://a.m.taobao.com/i123456.htm") == "123456"
    assert item_id_of("https://www.goofish.com/item?id=9") == "9"
    assert item_id_of("https://weidian.com/item.html?itemId=77") == "77"


async def test_runs_standalone_without_printing_the_key(http: httpx.AsyncClient) -> None:
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tests.fakes.catbuy_server", "--port", "0", "--key", KEY),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        base_url = line.split()[3]
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/api/v1")
        answer = await http.post(
            base_url + "/item", data={"url": ITEM_URL}, headers={"X-API-Key": KEY}
        )
        assert answer.json()["data"]["num_iid"] == "734912856301"
    finally:
        process.terminate()
        out, err = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode == 0
    assert KEY not in line + out.decode() + err.decode()
