"""A pasted link becomes a card: the whole bot through aiogram's Dispatcher.

Real Dispatcher, services and Redis; Telegram is a recording session and the
upstream a local fake server that follows the reference.
"""

from __future__ import annotations

import json

import pytest
from aiogram.types import Update

from bot.cards.service import CHAT_ACTION_DELAY
from tests.conftest import FIXTURES
from tests.fakes.catbuy_server import FakeCatBuy
from tests.fakes.telegram import message_update
from tests.harness import Harness, running_bot

TWO_DIMS = "https://item.taobao.com/item.htm?id=734912856301"
GROUP = -100777


def keyboard_buttons(call: object) -> list[dict[str, object]]:
    markup = getattr(call, "reply_markup", None) or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


async def test_private_link_gets_a_card_replying_to_the_message(
    bot: Harness, catbuy: FakeCatBuy
) -> None:
    update = message_update(f"look {TWO_DIMS}&spm=a21.1", user_id=5)
    await bot.feed(update)

    [card] = bot.cards()
    assert update.message is not None
    assert card.params["reply_to_message_id"] == update.message.message_id
    caption = card.params["caption"]
    assert "重磅280g纯棉短袖T恤" in caption and "&amp; 不易变形" in caption
    assert "¥89.00 – 109.00" in caption and "<s>¥159.00</s>" in caption
    assert "Taobao" in caption
    assert card.params["photo"].startswith("https://img.alicdn.com/")
    buttons = keyboard_buttons(card)
    urls = [b["url"] for b in buttons if "url" in b]
    assert urls == ["https://item.taobao.com/item.htm?id=734912856301"]
    assert any(b.get("text") == "1/5" for b in buttons)  # gallery
    assert any("黑色" in str(b.get("text")) for b in buttons)  # picker
    [request] = catbuy.requests
    assert request.form["url"] == "https://item.taobao.com/item.htm?id=734912856301"
    assert request.form["searchlang"] == "en"


async def test_a_slow_look_up_shows_the_chat_action_a_quick_one_does_not(
    bot: Harness, catbuy: FakeCatBuy
) -> None:
    catbuy.latency = CHAT_ACTION_DELAY + 0.3
    await bot.feed(message_update(TWO_DIMS, user_id=5))
    assert [c.method for c in bot.sent()] == ["sendChatAction", "sendPhoto"]
    assert bot.sent("sendChatAction")[0].params["action"] == "upload_photo"

    bot.clear()
    await bot.feed(message_update(TWO_DIMS, user_id=6))  # cached: the card comes at once
    assert [c.method for c in bot.sent()] == ["sendPhoto"]


@pytest.mark.parametrize(
    ("link", "title_part", "platform"),
    [
        ("https://detail.tmall.com/item.htm?id=712455609913", "Insulated Water Bottle", "Tmall"),
        ("https://detail.1688.com/offer/812345609871.html", "陶瓷香薰蜡烛杯", "1688"),
        ("https://weidian.com/item.html?itemID=7401128856", "手工编织小熊挂件", "Weidian"),
        ("https://www.goofish.com/item?id=905512387764", "WH-1000XM4", "Goofish"),
        ("https://item.taobao.com/item.htm?id=689203417725", "Windbreaker", "Taobao"),
    ],
)
async def test_every_platform_fixture_becomes_a_card(
    bot: Harness, link: str, title_part: str, platform: str
) -> None:
    await bot.feed(message_update(link))
    [card] = bot.cards()
    caption = card.params["caption"]
    assert title_part in caption and platform in caption
    assert len(caption) <= 1024


async def test_group_chatter_and_lookalikes_get_no_answer_and_cost_nothing(
    bot: Harness, catbuy: FakeCatBuy
) -> None:
    for text in [
        "hello everyone, who wants bubble tea?",
        "https://taobao.com.evil.com/item.htm?id=734912856301",
        "https://taobao.com@evil.com/item.htm?id=734912856301",
        "https://evil-taobao.com/item.htm?id=734912856301",
        "https://shop123.taobao.com/",
        "@catbuy_bot",
        "",
    ]:
        await bot.feed(message_update(text, chat_id=GROUP, chat_type="supergroup"))
    assert bot.sent() == []
    assert catbuy.calls == 0


async def test_group_link_gets_a_card(bot: Harness) -> None:
    await bot.feed(message_update(TWO_DIMS, chat_id=GROUP, chat_type="group"))
    [card] = bot.cards()
    assert card.chat_id == GROUP


async def test_everything_about_a_paste_in_a_forum_topic_goes_to_that_topic(
    bot: Harness, catbuy: FakeCatBuy
) -> None:
    """Also once the pasted message is gone: a reply to it would land in the topic,
    but a card sent without a reply (``allow_sending_without_reply``) would not."""
    catbuy.latency = CHAT_ACTION_DELAY + 0.2
    unknown = "https://item.taobao.com/item.htm?id=111222333444"
    await bot.feed(
        message_update(f"{TWO_DIMS} {unknown}", chat_id=GROUP, chat_type="supergroup", topic=77)
    )
    methods = {c.method for c in bot.sent()}
    assert methods == {"sendChatAction", "sendPhoto", "sendMessage"}
    assert [c.params.get("message_thread_id") for c in bot.sent()] == [77] * len(bot.sent())

    bot.clear()
    await bot.feed(message_update(TWO_DIMS, chat_id=GROUP, chat_type="supergroup"))
    [card] = bot.cards()
    assert "message_thread_id" not in card.params


@pytest.mark.parametrize("text", [f"/ {TWO_DIMS}", f"/r/FashionReps look {TWO_DIMS}"])
async def test_a_paste_that_starts_with_a_slash_is_no_command(bot: Harness, text: str) -> None:
    await bot.feed(message_update(text, chat_id=GROUP, chat_type="supergroup"))
    assert len(bot.cards()) == 1


async def test_a_link_with_chinese_text_glued_on_gets_a_card(bot: Harness) -> None:
    # Telegram's url entity runs on to the next blank: it holds "，有货吗" too.
    text = f"这个不错 {TWO_DIMS}，有货吗"
    update = message_update(text, chat_id=GROUP, chat_type="supergroup")
    assert update.message is not None and update.message.entities
    assert update.message.entities[0].extract_from(text).endswith("有货吗")
    await bot.feed(update)
    [card] = bot.cards()
    assert card.params["reply_to_message_id"] == update.message.message_id


GROUP_ANONYMOUS_BOT = {"id": 1087968824, "is_bot": True, "first_name": "Group"}


def anonymous_admin_paste(link: str, group: int) -> Update:
    """An admin posting as the group: Telegram sets sender_chat, and a placeholder in from."""
    raw = message_update(link, chat_id=group, chat_type="supergroup").model_dump(
        mode="json", exclude_none=True
    )
    raw["message"]["from"] = GROUP_ANONYMOUS_BOT
    raw["message"]["sender_chat"] = raw["message"]["chat"]
    return Update.model_validate(raw)


async def test_anonymous_admins_of_two_groups_do_not_share_a_quota(
    redis_url: str, catbuy: FakeCatBuy
) -> None:
    async with running_bot(redis_url, catbuy, user_daily_quota=1) as bot:
        await bot.feed(anonymous_admin_paste(TWO_DIMS, -100801))
        await bot.feed(
            anonymous_admin_paste("https://detail.tmall.com/item.htm?id=712455609913", -100802)
        )
        assert [c.chat_id for c in bot.cards()] == [-100801, -100802]


async def test_a_group_upgraded_to_a_supergroup_meanwhile_still_gets_its_card(
    bot: Harness,
) -> None:
    # A paste from the old group, answered after it became a supergroup.
    bot.session.telegram.migrate(-4001, -1004001)
    await bot.feed(message_update(TWO_DIMS, chat_id=-4001, chat_type="group"))
    [card] = [c for c in bot.cards() if c.ok]
    assert card.chat_id == -1004001


@pytest.mark.parametrize(
    "text",
    [
        "hello, how does this work?",
        "https://shop123456.taobao.com/",  # a shop page
        "https://taobao.com.evil.com/item.htm?id=734912856301",  # a lookalike
    ],
)
async def test_a_private_message_with_no_item_gets_a_hint(
    bot: Harness, catbuy: FakeCatBuy, text: str
) -> None:
    await bot.feed(message_update(text, user_id=5))
    [hint] = bot.messages()
    assert hint.startswith("I found no item link here.")
    assert catbuy.calls == 0
    bot.clear()
    await bot.feed(message_update("/nosuchcommand", user_id=5))  # not ours to answer
    assert bot.sent() == []


async def test_a_service_message_in_a_private_chat_gets_no_hint(bot: Harness) -> None:
    pinned = message_update(None, user_id=5).model_dump(mode="json", exclude_none=True)
    pinned["message"]["pinned_message"] = {
        "message_id": 1,
        "date": 0,
        "chat": pinned["message"]["chat"],
        "text": "an earlier card",
    }
    await bot.feed(Update.model_validate(pinned))
    assert bot.sent() == []


async def test_unknown_item_gets_a_short_message_in_a_group_too(bot: Harness) -> None:
    link = "https://item.taobao.com/item.htm?id=111222333444"
    await bot.feed(message_update(link, chat_id=GROUP, chat_type="group"))
    [text] = bot.messages()
    assert "111222333444" in text and "not found" in text
    assert bot.cards() == []


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        (500, "Couldn't load this item"),
        ("html", "Couldn't load this item"),
        ("invalid_json", "Couldn't load this item"),
    ],
)
async def test_upstream_failures_get_one_short_message(
    bot: Harness, catbuy: FakeCatBuy, mode: int | str, words: str
) -> None:
    catbuy.force(mode, times=None)
    await bot.feed(message_update(TWO_DIMS))
    [text] = bot.messages()
    assert words in text
    assert "<html" not in text.lower() and "Traceback" not in text


async def test_hung_upstream_is_abandoned_with_a_try_again(
    redis_url: str, catbuy: FakeCatBuy
) -> None:
    catbuy.force("hang", times=None)
    async with running_bot(redis_url, catbuy, catbuy_timeout_seconds=1) as bot:
        await bot.feed(message_update(TWO_DIMS))
        [text] = bot.messages()
    assert "too long" in text


async def test_more_than_three_items_are_named_as_skipped(bot: Harness) -> None:
    links = [
        "https://detail.tmall.com/item.htm?id=712455609913",
        "https://detail.1688.com/offer/812345609871.html",
        "https://weidian.com/item.html?itemID=7401128856",
        "https://www.goofish.com/item?id=905512387764",
        "https://detail.tmall.com/item.htm?id=712455609913&spm=dup",
    ]
    await bot.feed(message_update(" ".join(links)))
    assert len(bot.cards()) == 3
    [note] = bot.messages()
    assert "Skipped" in note and "905512387764" in note


async def test_short_links_not_opened_are_counted_among_the_skipped(bot: Harness) -> None:
    links = [
        "https://detail.tmall.com/item.htm?id=712455609913",
        *(f"https://m.tb.cn/h.Gone{n}" for n in range(12)),  # the fake web answers 404
        "https://www.goofish.com/item?id=905512387764",
    ]
    await bot.feed(message_update(" ".join(links), chat_type="supergroup"))
    assert len(bot.cards()) == 2
    [note] = bot.messages()
    assert note.endswith(": +2")  # ten were tried and did not open; two were not tried


async def test_short_links_that_lead_nowhere_leave_a_group_in_silence(bot: Harness) -> None:
    links = [f"https://m.tb.cn/h.Gone{n}" for n in range(12)]
    await bot.feed(message_update(" ".join(links), chat_type="supergroup"))
    assert bot.session.sent == []


async def test_refused_photo_url_is_uploaded_as_bytes(bot: Harness) -> None:
    bot.session.refuse_photo_url(
        "https://img.alicdn.com/imgextra/i3/1917047079/O1CN01TmBottle01_!!1917047079.jpg"
    )
    await bot.feed(message_update("https://detail.tmall.com/item.htm?id=712455609913"))
    photos = bot.sent("sendPhoto")
    assert [c.ok for c in photos] == [False, True]
    assert photos[1].upload(photos[1].params["photo"]) is not None


async def test_an_uploaded_photo_goes_by_its_file_id_afterwards(
    redis_url: str, catbuy: FakeCatBuy
) -> None:
    url = "https://img.alicdn.com/imgextra/i3/1917047079/O1CN01TmBottle01_!!1917047079.jpg"
    link = message_update("https://detail.tmall.com/item.htm?id=712455609913")
    async with running_bot(redis_url, catbuy) as bot:
        bot.session.refuse_photo_url(url)
        await bot.feed(link)
        await bot.feed(link)  # this process knows the file_id: no refused try
        photos = bot.sent("sendPhoto")
        assert [c.ok for c in photos] == [False, True, True]
        file_id = photos[2].params["photo"]
        assert str(file_id).startswith("AgAC") and not photos[2].files
    async with running_bot(redis_url, catbuy) as bot:  # another replica, the same Redis
        bot.session.refuse_photo_url(url)
        await bot.feed(link)
        photos = bot.sent("sendPhoto")
        assert [c.ok for c in photos] == [False, True]  # the URL, then the stored file_id
        assert photos[1].params["photo"] == file_id and not photos[1].files


async def test_card_without_a_usable_photo_arrives_as_text(
    bot: Harness, catbuy: FakeCatBuy
) -> None:
    body = json.loads((FIXTURES / "weidian_single.json").read_text())
    body["data"]["num_iid"] = "7401128857"
    body["data"]["pic_url"] = "https://si.geilicdn.com/missing.jpg"
    body["data"]["item_imgs"] = [{"url": "https://si.geilicdn.com/missing.jpg"}]
    catbuy.add_item("7401128857", body)
    bot.session.refuse_photo_url("https://si.geilicdn.com/missing.jpg")
    await bot.feed(message_update("https://weidian.com/item.html?itemID=7401128857"))
    [text] = bot.messages()
    assert "手工编织小熊挂件" in text


async def test_hostile_title_is_escaped_and_the_card_accepted(
    bot: Harness, catbuy: FakeCatBuy
) -> None:
    body = json.loads((FIXTURES / "tmall_one_dim_numeric.json").read_text())
    body["data"]["num_iid"] = "712455609914"
    body["data"]["title"] = "超长标题 & <b>" * 300
    catbuy.add_item("712455609914", body)
    await bot.feed(message_update("https://detail.tmall.com/item.htm?id=712455609914"))
    [card] = bot.cards()  # the fake refuses captions over 1024 characters
    assert "<b>超长标题 &amp; &lt;b&gt;" in card.params["caption"]


async def test_half_an_emoji_in_the_payload_still_makes_a_card(
    bot: Harness, catbuy: FakeCatBuy
) -> None:
    # A title cut inside a surrogate pair arrives as a lone "\ud83d" escape;
    # Telegram's UTF-8 cannot carry it, so sending it as is fails the card.
    body = json.loads((FIXTURES / "taobao_two_dims.json").read_text())
    body["data"]["title"] = "Teddy keyring \ud83d"
    body["data"]["seller_info"]["shop_name"] = "\udc3bBear shop"
    body["data"]["props_list"]["0:0"] = "颜色分类:黑\ud800色"
    catbuy.add_item("734912856301", body)
    await bot.feed(message_update(TWO_DIMS))
    [card] = bot.cards()
    caption = card.params["caption"]
    assert "Teddy keyring" in caption and "Bear shop" in caption
    caption.encode()  # nothing Telegram would refuse
    labels = [str(button["text"]) for button in keyboard_buttons(card)]
    assert any("黑色" in label for label in labels)


async def test_buy_button_carries_the_encoded_canonical_url(
    redis_url: str, catbuy: FakeCatBuy
) -> None:
    template = "https://agent.example/p?url={url}&ref=X&p={platform}&i={id}"
    async with running_bot(redis_url, catbuy, buy_url_template=template) as bot:
        await bot.feed(message_update("https://m.1688.com/offer/812345609871.html?x=1"))
        [card] = bot.cards()
    urls = [b["url"] for b in keyboard_buttons(card) if "url" in b]
    assert urls[-1] == (
        "https://agent.example/p?url=https%3A%2F%2Fdetail.1688.com%2Foffer%2F812345609871.html"
        "&ref=X&p=1688&i=812345609871"
    )


async def test_the_api_key_never_reaches_a_chat(bot: Harness, catbuy: FakeCatBuy) -> None:
    catbuy.force(401, times=None)
    await bot.feed(message_update(TWO_DIMS))
    await bot.feed(message_update("https://detail.tmall.com/item.htm?id=712455609913"))
    sent = json.dumps([c.params for c in bot.sent()], ensure_ascii=False)
    assert catbuy.key not in sent
    assert "temporarily unavailable" in sent


async def test_a_huge_message_of_links_is_answered_briefly(
    bot: Harness, catbuy: FakeCatBuy
) -> None:
    text = " ".join(f"https://item.taobao.com/item.htm?id={100000 + i}" for i in range(100))
    await bot.feed(message_update(text[:4096]))
    assert catbuy.calls_to("/item") == 3
    assert len(bot.messages()) == 1


SHARE_TEXT = (
    "【淘宝】7天无理由退货 https://e.tb.cn/h.TxYz123?tk=AbCd4567 CZ0001 「重磅280g纯棉短袖T恤」"
    "点击链接直接打开 或者 淘宝搜索直接打开"
)


async def test_share_text_short_link_becomes_a_card(bot: Harness) -> None:
    bot.shortlinks.redirect(
        "https://e.tb.cn/h.TxYz123?tk=AbCd4567",
        "https://item.taobao.com/item.htm?id=734912856301&ali_trackid=2",
    )
    await bot.feed(message_update(SHARE_TEXT))
    [card] = bot.cards()
    assert "¥89.00 – 109.00" in card.params["caption"]
    assert bot.shortlinks.hosts == ["e.tb.cn"]  # the marketplace page itself is never fetched


async def test_agent_link_card_points_at_the_marketplace(bot: Harness) -> None:
    agent = "https://www.kakobuy.com/item/details?url=https%3A%2F%2Fweidian.com%2Fitem.html%3FitemID%3D7401128856"
    await bot.feed(message_update(agent))
    [card] = bot.cards()
    urls = [b["url"] for b in keyboard_buttons(card) if "url" in b]
    assert urls == ["https://weidian.com/item.html?itemID=7401128856"]
    assert "kakobuy" not in json.dumps(card.params).lower()


async def test_short_link_that_cannot_be_opened(bot: Harness) -> None:
    link = "https://m.tb.cn/h.Broken1"  # the fake web answers 404
    await bot.feed(message_update(link, chat_id=GROUP, chat_type="group"))
    assert bot.sent() == []  # silence in a group
    await bot.feed(message_update(link))
    [text] = bot.messages()
    assert "Couldn't open this link" in text


@pytest.mark.parametrize(
    "text",
    [
        "\u202e\u200b🙂" * 1300,  # right-to-left override, zero-width space, emoji
        "https://item.taobao.com。evil。com/item.htm?id=734912856301",
        "https://item.taobao.com\\@evil.com/item.htm?id=734912856301",
        "item.taobao.com/item.htm?id=" + "9" * 400,
        "\ud83d broken surrogate https://" + "a" * 4000,
    ],
)
async def test_hostile_text_in_a_group_gets_nothing_and_breaks_nothing(
    bot: Harness, catbuy: FakeCatBuy, text: str
) -> None:
    await bot.feed(message_update(text[:4096], chat_id=GROUP, chat_type="supergroup", entities=[]))
    assert bot.sent() == [] and catbuy.calls == 0
