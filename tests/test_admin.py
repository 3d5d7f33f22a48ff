"""/stats through the Dispatcher: what an admin is told, and everyone else."""

from __future__ import annotations

from tests.fakes.catbuy_server import FakeCatBuy
from tests.fakes.telegram import message_update
from tests.harness import ADMIN_ID, Harness

LINK = "https://item.taobao.com/item.htm?id=734912856301"


async def test_stats_count_todays_paid_and_free_look_ups(bot: Harness, catbuy: FakeCatBuy) -> None:
    await bot.feed(message_update(LINK, user_id=5))  # paid
    await bot.feed(message_update(LINK, user_id=6))  # cached
    bot.clear()
    await bot.feed(message_update("/stats", user_id=ADMIN_ID))
    [text] = bot.messages()
    assert "Paid look-ups: 1" in text
    assert "Cache hits: 1 · coalesced: 0 · free share: 50%" in text
    assert "Budget left: 999 of 1,000" in text
    assert "Estimated spend: $0.004 (look-ups $0.004, risk checks $0.00)" in text
    assert "Saved by the cache: $0.004" in text


async def test_stats_are_for_admins_only(bot: Harness, catbuy: FakeCatBuy) -> None:
    await bot.feed(message_update("/stats", user_id=5))
    assert bot.messages() == ["This command is for the bot's admins."]
