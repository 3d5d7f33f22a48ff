"""A Bot API that answers with an HTML error page (a proxy's 502) is down for a moment,
not a reason to crash: start-up waits, the command menu is skipped, a card is sent
again, a tap still changes its card."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Dispatcher

from bot.app import create_bot
from bot.config import load_settings
from bot.i18n.user_locale import create_i18n
from bot.run import reach_telegram
from bot.telegram.commands import register_commands
from bot.telegram.webhook import set_webhook
from tests.bot_process import bot_env, bot_process
from tests.fakes.bot_api_server import FakeBotApi
from tests.fakes.catbuy_server import FakeCatBuy
from tests.fakes.telegram import message_update
from tests.harness import Harness, running_bot

TOKEN = "4244:PAGE-SECRET-TOKEN-abcdef"
LINK = "https://item.taobao.com/item.htm?id=734912856301"


@pytest.fixture
async def telegram() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN) as fake:
        yield fake


async def test_start_up_waits_out_an_error_page_instead_of_exiting(
    telegram: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(
        bot_token=TOKEN,
        catbuy_api_key="cbk_x",
        telegram_api_url=telegram.base_url,
        _env_file=None,
    )
    # Three pages in a row: the request middleware's own retry is not enough.
    telegram.fail_next_with_page("getMe", times=3)
    bot = create_bot(settings)
    try:
        await reach_telegram(bot, settings, patience=10)
    finally:
        await bot.session.close()
    assert [c.status for c in telegram.calls("getMe")] == [502, 502, 502, 200]
    assert "asking again" in caplog.text
    assert "<html>" not in caplog.text and TOKEN not in caplog.text


async def test_an_error_page_from_set_my_commands_is_not_fatal(telegram: FakeBotApi) -> None:
    settings = load_settings(
        bot_token=TOKEN,
        catbuy_api_key="cbk_x",
        telegram_api_url=telegram.base_url,
        _env_file=None,
    )
    telegram.fail_next_with_page("setMyCommands", times=2)
    bot = create_bot(settings)
    try:
        await register_commands(bot, create_i18n())  # returns: the menu is a nicety
    finally:
        await bot.session.close()
    assert telegram.calls("setMyCommands")[0].status == 502


async def test_registering_the_webhook_waits_out_error_pages(telegram: FakeBotApi) -> None:
    settings = load_settings(
        bot_token=TOKEN,
        catbuy_api_key="cbk_x",
        telegram_api_url=telegram.base_url,
        _env_file=None,
    )
    telegram.fail_next_with_page("setWebhook", times=3)
    bot = create_bot(settings)
    try:
        await set_webhook(bot, Dispatcher(), url="https://bot.example/webhook", secret="s")
    finally:
        await bot.session.close()
    assert telegram.webhook is not None and telegram.webhook.url == "https://bot.example/webhook"


async def test_polling_starts_when_removing_the_webhook_hits_error_pages(
    telegram: FakeBotApi, redis_url: str
) -> None:
    async with FakeCatBuy("cbk_pages_key") as catbuy:
        env = bot_env(
            BOT_TOKEN=TOKEN,
            CATBUY_API_KEY=catbuy.key,
            CATBUY_BASE_URL=catbuy.base_url,
            TELEGRAM_API_URL=telegram.base_url,
            REDIS_URL=redis_url,
        )
        telegram.fail_next_with_page("deleteWebhook", times=3)
        async with bot_process(env) as process:
            telegram.push_update(message_update(LINK, user_id=63))
            card = await telegram.wait_for("sendPhoto", timeout=40)
            assert card.chat_id == 63 and process.poll() is None


async def test_a_card_send_hitting_one_error_page_still_delivers(bot: Harness) -> None:
    bot.session.fail_next_with_page("sendPhoto")
    await bot.feed(message_update(LINK, user_id=61))
    assert [c.status for c in bot.sent("sendPhoto")] == [502, 200]
    assert not bot.messages()  # no apology: the card came


async def test_a_tap_whose_answer_hits_error_pages_still_changes_the_card(
    redis_url: str, catbuy: FakeCatBuy
) -> None:
    async with running_bot(redis_url, catbuy, telegram_send_interval=0) as bot:
        await bot.feed(message_update(LINK, user_id=62))
        [card] = bot.cards()
        message_id = card.response["result"]["message_id"]
        black = next(
            b
            for row in card.reply_markup["inline_keyboard"]  # type: ignore[index]
            for b in row
            if "黑色" in b["text"]
        )
        bot.session.fail_next_with_page("answerCallbackQuery", times=2)
        bot.clear()
        tap = bot.session.telegram.tap(62, message_id, black["callback_data"], user_id=62)
        await bot.feed(tap)
        edits = [c for c in bot.sent() if c.method.startswith("editMessage") and c.ok]
        assert len(edits) == 1 and "黑色" in str(edits[0].params)
        assert not bot.messages()  # no "something went wrong" over a changed card


async def test_the_error_handler_survives_an_error_page_too(bot: Harness) -> None:
    """/help's answer and then the apology both hit error pages: the update ends quietly."""
    bot.session.fail_next_with_page("sendMessage", times=4)
    await bot.feed(message_update("/help", user_id=64))  # raises nothing
    assert [c.status for c in bot.sent("sendMessage")] == [502, 502, 502, 502]
