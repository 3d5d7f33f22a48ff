"""/stats and /quota through the Dispatcher: what an admin is told, and everyone else."""

from __future__ import annotations

from tests.fakes.catbuy_server import FakeCatBuy
from tests.fakes.telegram import message_update
from tests.harness import ADMIN_ID, Harness, running_bot

LINK = "https://item.taobao.com/item.htm?id=734912856301"
OTHER = "https://detail.tmall.com/item.htm?id=712455609913"
GROUP = -100558


async def test_stats_count_todays_paid_and_free_look_ups(bot: Harness, catbuy: FakeCatBuy) -> None:
    await bot.feed(message_update(LINK, user_id=5))  # paid
    await bot.feed(message_update(LINK, user_id=6))  # cached
    bot.clear()
    await bot.feed(message_update("/stats", user_id=ADMIN_ID))
    [chart] = bot.sent("sendPhoto")
    text = chart.params["caption"]
    assert "Paid look-ups: 1" in text
    assert "Cache hits: 1 · coalesced: 0 · free share: 50%" in text
    assert "Budget left: 999 of 1,000" in text
    assert "Estimated spend: $0.004 (look-ups $0.004, risk checks $0.00)" in text
    assert "Saved by the cache: $0.004" in text


async def test_stats_are_for_admins_only(bot: Harness, catbuy: FakeCatBuy) -> None:
    await bot.feed(message_update("/stats", user_id=5))
    assert bot.messages() == ["This command is for the bot's admins."]


async def test_stats_stay_out_of_groups_even_for_admins(bot: Harness) -> None:
    for user_id in (ADMIN_ID, 5):
        await bot.feed(message_update("/stats", user_id=user_id, chat_id=GROUP, chat_type="group"))
    assert bot.messages() == ["/stats works only in a private chat with me."] * 2


async def test_quota_in_a_group_shows_the_group_s_look_ups_too(
    redis_url: str, catbuy: FakeCatBuy
) -> None:
    async with running_bot(redis_url, catbuy, user_daily_quota=50, chat_daily_quota=2) as bot:
        for user_id, link in ((5, LINK), (6, OTHER)):
            await bot.feed(message_update(link, user_id=user_id, chat_id=GROUP, chat_type="group"))
        bot.clear()
        ask = message_update("/quota", user_id=7, chat_id=GROUP, chat_type="group")
        await bot.feed(ask)
        [answer] = bot.sent("sendMessage")
        assert answer.params["text"].splitlines()[:2] == [
            "Look-ups left today: 50 of 50.",
            "This group: 0 of 2 left today.",
        ]
        assert ask.message is not None
        assert answer.params["reply_to_message_id"] == ask.message.message_id

        bot.clear()
        await bot.feed(message_update("/quota", user_id=7))  # in private: no group line
        [text] = bot.messages()
        assert "This group" not in text and "reply_to_message_id" not in bot.sent()[0].params


async def test_quota_says_so_when_the_bot_s_budget_is_used_up(
    redis_url: str, catbuy: FakeCatBuy
) -> None:
    async with running_bot(redis_url, catbuy, daily_budget_requests=1) as bot:
        await bot.feed(message_update("/quota", user_id=6))
        assert "budget" not in bot.messages()[-1]
        await bot.feed(message_update(LINK, user_id=5))  # the last of the budget
        await bot.feed(message_update(OTHER, user_id=6))
        refused = [c for c in bot.sent("sendMessage") if c.chat_id == 6][-1]
        assert "budget is used up" in str(refused.params["text"])  # on the free link card
        await bot.feed(message_update("/quota", user_id=6))
        text = bot.messages()[-1]
        assert text.startswith("Look-ups left today: 50 of 50.\n")
        assert "The bot's daily budget is used up: links get no card until the reset." in text
