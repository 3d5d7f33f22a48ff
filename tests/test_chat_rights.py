"""Chats that muted the bot or forbid it photos, and photos nobody can send: no wasted tries."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiogram.types import Update

from bot.balance.usage_figures import Counter
from tests.conftest import FIXTURES
from tests.fakes.catbuy_server import FakeCatBuy
from tests.fakes.telegram import BOT_ID, message_update
from tests.harness import Harness, running_bot

GROUP = -100901
TWO_DIMS = "https://item.taobao.com/item.htm?id=734912856301"
TMALL = "https://detail.tmall.com/item.htm?id=712455609913"
LINK_1688 = "https://detail.1688.com/offer/812345609871.html"
NO_PHOTOS = "Bad Request: not enough rights to send photos to the chat"
NO_TEXT = "Bad Request: not enough rights to send text messages to the chat"


def paste(link: str) -> Update:
    return message_update(link, chat_id=GROUP, chat_type="supergroup")


def my_rights(status: str, **rights: bool) -> Update:
    """Telegram's report that the bot's own membership in GROUP changed."""
    bot: dict[str, Any] = {"id": BOT_ID, "is_bot": True, "first_name": "CatBuy Test"}
    old = {"status": "member", "user": bot}
    new: dict[str, Any] = {"status": status, "user": bot, **rights}
    if status == "restricted":
        new = {**_all_rights(True), **new, "is_member": True, "until_date": 0}
    return Update.model_validate(
        {
            "update_id": 900_000 + len(status) + len(rights),
            "my_chat_member": {
                "chat": {"id": GROUP, "type": "supergroup", "title": "Test group"},
                "from": {"id": 7, "is_bot": False, "first_name": "Admin"},
                "date": 0,
                "old_chat_member": old,
                "new_chat_member": new,
            },
        }
    )


def _all_rights(allowed: bool) -> dict[str, bool]:
    names = (
        "can_send_messages can_send_audios can_send_documents can_send_photos can_send_videos "
        "can_send_video_notes can_send_voice_notes can_send_polls can_send_other_messages "
        "can_add_web_page_previews can_change_info can_invite_users can_pin_messages "
        "can_manage_topics can_react_to_messages can_edit_tag"
    )
    return dict.fromkeys(names.split(), allowed)


async def test_a_muted_bot_pays_for_no_look_up_until_it_may_write_again(
    bot: Harness, catbuy: FakeCatBuy
) -> None:
    bot.session.fail_next("sendPhoto", 400, NO_PHOTOS)
    bot.session.fail_next("sendMessage", 400, NO_TEXT)
    await bot.feed(paste(TWO_DIMS))  # learnt the hard way, once
    assert catbuy.calls == 1 and not bot.cards() and not bot.messages()

    bot.clear()
    await bot.feed(paste(TMALL))
    assert catbuy.calls == 1 and bot.sent() == []

    await bot.feed(my_rights("member"))  # an admin lifted the restriction
    await bot.feed(paste(TMALL))
    assert catbuy.calls == 2 and len(bot.cards()) == 1


async def test_a_bot_removed_from_a_group_pays_for_nothing_there(
    bot: Harness, catbuy: FakeCatBuy
) -> None:
    bot.session.fail_next("sendPhoto", 403, "Forbidden: bot was kicked from the supergroup chat")
    await bot.feed(paste(TWO_DIMS))
    await bot.feed(paste(TMALL))
    assert catbuy.calls == 1


async def test_telegram_s_report_of_a_mute_is_heeded_before_any_refusal(
    bot: Harness, catbuy: FakeCatBuy
) -> None:
    await bot.feed(my_rights("restricted", can_send_messages=False))
    await bot.feed(paste(TWO_DIMS))
    assert catbuy.calls == 0 and bot.sent() == []


async def test_a_group_that_forbids_photos_gets_text_cards_at_once(
    bot: Harness, catbuy: FakeCatBuy
) -> None:
    bot.session.fail_next("sendPhoto", 400, NO_PHOTOS)
    await bot.feed(paste(TWO_DIMS))
    assert [(c.method, c.ok) for c in bot.sent() if c.method != "sendChatAction"] == [
        ("sendPhoto", False),
        ("sendMessage", True),  # no download, no upload into the same refusal
    ]
    bot.clear()
    await bot.feed(paste(LINK_1688))
    assert [c.method for c in bot.sent() if c.method != "sendChatAction"] == ["sendMessage"]

    await bot.feed(my_rights("restricted", can_send_photos=True))
    bot.clear()
    await bot.feed(paste(TMALL))
    assert len(bot.cards()) == 1


async def test_a_photo_that_cannot_be_sent_at_all_is_not_tried_again_for_a_while(
    bot: Harness, catbuy: FakeCatBuy
) -> None:
    """Refused by URL and not downloadable: the next card of the item is text at once."""
    body = json.loads((FIXTURES / "tmall_one_dim_numeric.json").read_text())
    broken = "https://img.alicdn.com/imgextra/missing/broken.jpg"
    body["data"]["pic_url"] = broken
    body["data"]["item_imgs"] = [{"url": broken}]
    catbuy.add_item("712455609913", body)
    bot.session.refuse_photo_url(broken)
    await bot.feed(paste(TMALL))
    assert [(c.method, c.ok) for c in bot.sent() if c.method != "sendChatAction"] == [
        ("sendPhoto", False),
        ("sendMessage", True),
    ]
    bot.clear()
    await bot.feed(message_update(TMALL, user_id=77))  # cached: free, and text at once
    assert [c.method for c in bot.sent()] == ["sendMessage"]


async def test_a_group_flooding_past_telegram_s_rate_pays_for_no_card_it_cannot_send(
    redis_url: str, catbuy: FakeCatBuy
) -> None:
    """Two cards a minute: the third would wait for the window to roll on, longer
    than a stop can wait for it."""
    async with running_bot(redis_url, catbuy, telegram_group_per_minute=2) as bot:
        await bot.feed(paste(TWO_DIMS))
        await bot.feed(paste(TMALL))
        await bot.feed(paste(LINK_1688))
        assert catbuy.calls == 2 and len(bot.cards()) == 2
        assert not bot.messages()  # silence: a note would queue behind the window too
        assert 'quota_refusals_total{kind="group_flood"} 1.0' in bot.app.metrics.render().decode()
        today = await bot.app.services.counters.snapshot()
        assert (today[Counter.REFUSED_FLOOD], today.refusals) == (1, 1)


async def test_a_burst_in_a_flooding_group_counts_the_cards_still_being_looked_up(
    redis_url: str,
) -> None:
    async with (
        FakeCatBuy(rps=50, latency=0.3) as slow,
        running_bot(redis_url, slow, telegram_group_per_minute=2) as bot,
    ):
        links = (TWO_DIMS, TMALL, LINK_1688)
        await asyncio.gather(*(bot.feed(paste(link)) for link in links))
        assert slow.calls == 2  # the third card would wait a minute: not paid for
        assert len(bot.cards()) == 2


async def test_a_private_chat_pasting_past_telegram_s_pace_pays_for_no_card_it_cannot_send(
    redis_url: str,
) -> None:
    """A card a second: 21 queue for 20 s at most; the next would wait longer than a
    stop can wait for it."""
    async with (
        FakeCatBuy(rps=100, latency=0.3) as slow,
        running_bot(redis_url, slow, telegram_send_interval=1.0) as bot,
    ):
        body = json.loads((FIXTURES / "taobao_two_dims.json").read_text())
        links = []
        for n in range(24):
            item_id = str(734912870001 + n)
            slow.add_item(item_id, {**body, "data": {**body["data"], "num_iid": item_id}})
            links.append(f"https://item.taobao.com/item.htm?id={item_id}")
        burst = [asyncio.create_task(bot.feed(message_update(link, user_id=81))) for link in links]
        await asyncio.sleep(1.5)  # every look-up paid for is done by now
        assert slow.calls == 21
        assert 'quota_refusals_total{kind="chat_flood"} 3.0' in bot.app.metrics.render().decode()
        for task in burst:
            task.cancel()
        await asyncio.gather(*burst, return_exceptions=True)


async def test_a_paste_whose_card_cannot_be_sent_before_a_stop_is_not_paid_for(
    redis_url: str, catbuy: FakeCatBuy
) -> None:
    async with running_bot(redis_url, catbuy, catbuy_timeout_seconds=15) as bot:
        card_service = bot.app.services.card_service
        now = asyncio.get_running_loop().time()
        card_service.stop_by(now + 12)  # less than a look-up may take, and a send
        await bot.feed(message_update(TWO_DIMS, user_id=82))
        assert catbuy.calls == 0 and not bot.cards()
        assert bot.messages() == ["The bot is restarting. Paste the link again in a minute."]
        card_service.stop_by(now + 30)  # time enough
        await bot.feed(message_update(TWO_DIMS, user_id=82))
        assert catbuy.calls == 1 and len(bot.cards()) == 1
