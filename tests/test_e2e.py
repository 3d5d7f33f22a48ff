"""End to end: ``python -m bot`` as a real process against a fake Bot API server,
the fake upstream and a real Redis. A pasted link becomes a card; taps edit it.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest

from bot.app import create_bot
from bot.config import load_settings
from bot.run import StartupError, reach_telegram
from bot.telegram.callbacks import CardTap
from tests.bot_process import ROOT, bot_env, bot_process, stop
from tests.fakes.bot_api_server import FakeBotApi
from tests.fakes.catbuy_server import FakeCatBuy
from tests.fakes.telegram import message_update
from tests.redis_server import free_port

TOKEN = "4242:E2E-SECRET-TOKEN-abcdef"
LINK = "https://item.taobao.com/item.htm?id=734912856301"
KEY = "cbk_e2e_secret_key_0123456789"


@pytest.fixture
def bot_token() -> str:
    return TOKEN


@pytest.fixture
async def catbuy() -> AsyncIterator[FakeCatBuy]:
    async with FakeCatBuy(KEY) as fake:
        yield fake


def e2e_env(telegram: FakeBotApi, catbuy: FakeCatBuy, redis_url: str) -> dict[str, str]:
    return bot_env(
        BOT_TOKEN=TOKEN,
        CATBUY_API_KEY=KEY,
        CATBUY_BASE_URL=catbuy.base_url,
        TELEGRAM_API_URL=telegram.base_url,
        REDIS_URL=redis_url,
        ADMIN_IDS="900",
        LOG_LEVEL="DEBUG",
        LOG_FORMAT="json",
    )


async def test_pasted_link_becomes_a_card_and_taps_edit_it(
    telegram: FakeBotApi, catbuy: FakeCatBuy, redis_url: str
) -> None:
    async with bot_process(e2e_env(telegram, catbuy, redis_url), capture=True) as process:
        # Chatter and a lookalike in a group first: they must get nothing.
        group = dict(chat_id=-100321, chat_type="supergroup", user_id=77)
        telegram.push_update(message_update("hi all, who's buying?", **group))
        telegram.push_update(message_update("https://taobao.com.evil.com/item.htm?id=1", **group))
        link = "看看这个 https://item.taobao.com/item.htm?spm=a1z10&id=734912856301"
        telegram.push_update(message_update(link, user_id=77))
        card = await telegram.wait_for("sendPhoto", timeout=30)

        assert card.chat_id == 77
        assert "¥89.00 – 109.00" in card.params["caption"]
        rows = card.reply_markup["inline_keyboard"]
        colour = next(b for row in rows for b in row if "黑色" in b["text"])
        token = CardTap.unpack(colour["callback_data"]).token
        message_id = card.response["result"]["message_id"]

        tap = telegram.telegram.tap(77, message_id, colour["callback_data"], user_id=77)
        telegram.push_update(tap)
        await telegram.wait_for("answerCallbackQuery", timeout=15)
        edit = await telegram.wait_for(lambda c: c.method.startswith("editMessage"), timeout=15)
        assert "黑色" in str(edit.params)
        assert token

        # A second tap completes the choice: black, size M — ¥89.00, 120 in stock.
        rows = edit.params["reply_markup"]["inline_keyboard"]
        size_m = next(b for row in rows for b in row if b["text"] == "M")
        tap = telegram.telegram.tap(77, message_id, size_m["callback_data"], user_id=77)
        telegram.push_update(tap)
        await telegram.wait_for("answerCallbackQuery", timeout=15)
        edit = await telegram.wait_for(lambda c: c.method.startswith("editMessage"), timeout=15)
        caption = str(edit.params.get("caption") or edit.params["media"]["caption"])
        assert "¥89.00" in caption and "120" in caption

        await asyncio.sleep(0.5)  # let any (wrong) answer to the chatter arrive
        sends = [c for c in telegram.sent if c.method.startswith("send")]
        assert {c.chat_id for c in sends} == {77}  # nothing to the group
        assert [c.method for c in sends if c.method != "sendChatAction"] == ["sendPhoto"]
        assert catbuy.calls_to("/item") == 1

        await stop(process)
        assert process.stdout is not None
        output = process.stdout.read().decode()
    assert process.returncode in (0, -signal.SIGTERM)
    assert KEY not in output and TOKEN not in output and TOKEN.split(":")[1] not in output
    assert "Traceback" not in output


async def test_sigterm_lets_a_look_up_under_way_finish_its_card(
    telegram: FakeBotApi, redis_url: str
) -> None:
    async with FakeCatBuy(KEY, latency=2.0) as slow:
        env = e2e_env(telegram, slow, redis_url)
        async with bot_process(env) as process:
            telegram.push_update(message_update(LINK, user_id=78))
            await asyncio.wait_for(slow.received.wait(), 30)
            await stop(process)  # SIGTERM while the upstream takes its 2 s
            assert process.returncode in (0, -signal.SIGTERM)
    assert [c.chat_id for c in telegram.calls("sendPhoto")] == [78]


@pytest.mark.parametrize(
    ("name", "value"),
    [("CATBUY_RPS", "fast"), ("REDIS_URL", "localhost:6379"), ("CATBUY_API_KEY", "cbk tеst")],
)
def test_bad_configuration_exits_2_with_one_line(name: str, value: str) -> None:
    env = bot_env(**{"BOT_TOKEN": "1:abc", "CATBUY_API_KEY": "cbk_x", name: value})
    result = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and name in lines[0]
    assert "Traceback" not in result.stderr.decode()


async def test_a_token_telegram_refuses_exits_2_with_one_line(
    telegram: FakeBotApi, catbuy: FakeCatBuy
) -> None:
    wrong = "4242:E2E-WRONG-TOKEN-abcdef0123456789abcdef"
    env = bot_env(
        BOT_TOKEN=wrong,
        CATBUY_API_KEY=KEY,
        CATBUY_BASE_URL=catbuy.base_url,
        TELEGRAM_API_URL=telegram.base_url,
    )
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "bot"], cwd=ROOT, env=env, capture_output=True
    )
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert lines[-1].startswith("catbuy-bot: configuration error: BOT_TOKEN:")
    assert "Traceback" not in result.stderr.decode() and wrong not in result.stderr.decode()
    assert catbuy.calls == 0


async def test_an_unreachable_telegram_is_asked_again_then_given_up_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = load_settings(
        bot_token=TOKEN,
        catbuy_api_key=KEY,
        telegram_api_url=f"http://127.0.0.1:{free_port()}",
        _env_file=None,
    )
    bot = create_bot(settings)
    try:
        with pytest.raises(StartupError, match=r"cannot reach Telegram at http://127\.0\.0\.1"):
            await reach_telegram(bot, settings, patience=1.5)
    finally:
        await bot.session.close()
    assert "asking again" in caplog.text and TOKEN not in caplog.text
