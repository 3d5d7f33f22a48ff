"""/agent, the agent's buttons on cards, and free link cards, through the Dispatcher."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from bot.links.urls import parse_item_url
from bot.telegram.callbacks import AgentPick
from tests.fakes.catbuy_server import FakeCatBuy
from tests.fakes.telegram import callback_update, message_update
from tests.harness import Harness, running_bot
from tests.test_bot_picker import TWO_DIMS, USER, Card, buttons

GROUP = -100555
ADMIN = 31
MEMBER = 32
REFERRALS = "kakobuy=abc123,cnfans=4567"
OTHER_ITEM = "https://detail.tmall.com/item.htm?id=712455609913"


def urls(markup: dict[str, Any] | None) -> dict[str, str]:
    return {b["text"]: b["url"] for b in buttons(markup) if "url" in b}


@pytest.fixture
async def agents_bot(redis_url: str, catbuy: FakeCatBuy) -> Any:
    async with running_bot(redis_url, catbuy, agent_referrals=REFERRALS) as bot:
        yield bot


async def say(bot: Harness, text: str, **kwargs: Any) -> list[str]:
    before = len(bot.session.sent)
    await bot.feed(message_update(text, **kwargs))
    new = bot.session.sent[before:]
    return [str(c.params.get("text")) for c in new if c.method == "sendMessage"]


async def test_agent_in_private_sets_the_agent_of_the_users_cards(
    agents_bot: Harness, catbuy: FakeCatBuy
) -> None:
    assert await say(agents_bot, "/agent kakobuy", user_id=USER) == ["Shopping agent set: Kakobuy"]
    await agents_bot.feed(message_update(TWO_DIMS, user_id=USER))
    [card] = agents_bot.cards()
    links = urls(card.reply_markup)
    buy = links["🛒 Buy on Kakobuy"]
    assert buy.startswith("https://www.kakobuy.com/item/details?url=")
    assert parse_qs(urlsplit(buy).query)["affcode"] == ["abc123"]
    assert parse_item_url(buy) == parse_item_url(TWO_DIMS)
    assert links["Open on Taobao"] == "https://item.taobao.com/item.htm?id=734912856301"
    assert any(b["text"] == "🌐 Other agents" for b in buttons(card.reply_markup))
    assert catbuy.calls_to("/item") == 1


async def test_agent_keyboard_pages_and_picks(agents_bot: Harness) -> None:
    await agents_bot.feed(message_update("/agent", user_id=USER))
    [menu] = agents_bot.sent("sendMessage")
    labels = [b["text"] for b in buttons(menu.reply_markup)]
    assert "Kakobuy" in labels and "✖ No agent" in labels
    assert "1/4" in labels  # 42 agents, 12 a page
    message_id = menu.response["result"]["message_id"]
    telegram = agents_bot.session.telegram
    await agents_bot.feed(telegram.tap(USER, message_id, AgentPick(page=1).pack(), user_id=USER))
    [turned] = agents_bot.sent("editMessageReplyMarkup")
    assert "2/4" in [b["text"] for b in buttons(turned.reply_markup)]
    await agents_bot.feed(
        telegram.tap(USER, message_id, AgentPick(slug="cnfans").pack(), user_id=USER)
    )
    [picked] = agents_bot.sent("editMessageText")
    assert picked.params["text"] == "Shopping agent set: CNFans"
    await agents_bot.feed(message_update(TWO_DIMS, user_id=USER))
    [card] = agents_bot.cards()
    buy = urls(card.reply_markup)["🛒 Buy on CNFans"]
    assert buy == "https://cnfans.com/product?id=734912856301&platform=TAOBAO&ref=4567"


async def test_unknown_and_hostile_agent_names_get_a_short_answer(agents_bot: Harness) -> None:
    [answer] = await say(agents_bot, "/agent <b>evil</b>", user_id=USER)
    assert answer.startswith("Unknown agent: &lt;b&gt;evil")
    assert await say(agents_bot, "/agent off", user_id=USER) == [
        "No shopping agent: cards carry the marketplace link."
    ]


async def test_in_a_group_only_admins_choose_and_every_card_there_follows(
    agents_bot: Harness,
) -> None:
    telegram = agents_bot.session.telegram
    telegram.set_member(GROUP, ADMIN, "administrator")
    refused = await say(
        agents_bot, "/agent kakobuy", chat_id=GROUP, chat_type="supergroup", user_id=MEMBER
    )
    assert refused == ["Only the group's admins can choose its shopping agent."]
    assert agents_bot.sent("getChatMember")
    # A member's tap on an admin's keyboard is refused too.
    menu_update = callback_update(
        AgentPick(slug="kakobuy").pack(),
        chat_id=GROUP,
        chat_type="supergroup",
        user_id=MEMBER,
        has_photo=False,
    )
    await agents_bot.feed(menu_update)
    [toast] = agents_bot.sent("answerCallbackQuery")
    assert toast.params["text"] == "Only the group's admins can choose its shopping agent."

    await say(agents_bot, "/agent kakobuy", chat_id=GROUP, chat_type="supergroup", user_id=ADMIN)
    await agents_bot.feed(
        message_update(TWO_DIMS, chat_id=GROUP, chat_type="supergroup", user_id=MEMBER)
    )
    [card] = agents_bot.cards()
    assert "🛒 Buy on Kakobuy" in urls(card.reply_markup)
    # The member's own private choice does not change the group's cards.
    await say(agents_bot, "/agent cnfans", user_id=MEMBER)
    agents_bot.clear()
    await agents_bot.feed(
        message_update(OTHER_ITEM, chat_id=GROUP, chat_type="supergroup", user_id=MEMBER)
    )
    [card] = agents_bot.cards()
    assert "🛒 Buy on Kakobuy" in urls(card.reply_markup)


async def test_other_agents_and_back_cost_no_upstream_call(
    agents_bot: Harness, catbuy: FakeCatBuy
) -> None:
    await say(agents_bot, "/agent kakobuy", user_id=USER)
    await agents_bot.feed(message_update(TWO_DIMS, user_id=USER))
    card = Card(agents_bot, agents_bot.cards()[0])
    before = buttons(card.markup)
    await card.tap_button("Other agents")
    others = urls(card.markup)
    assert "Kakobuy" not in others and "🛒 Buy on Kakobuy" not in others
    assert {"CNFans", "ACBuy", "Mulebuy", "Hoobuy"} <= set(others)
    assert others["CNFans"].endswith("&ref=4567")
    for url in others.values():
        assert parse_item_url(url) == parse_item_url(TWO_DIMS)
    assert any("黑色" in b["text"] for b in buttons(card.markup))  # the picker stays
    await card.tap_button("Back")
    assert buttons(card.markup) == before
    assert catbuy.calls_to("/item") == 1


async def test_a_full_picker_choice_puts_the_sku_into_every_link(
    redis_url: str, catbuy: FakeCatBuy
) -> None:
    template = "https://agent.example/p?url={url}"
    async with running_bot(
        redis_url, catbuy, agent_referrals=REFERRALS, buy_url_template=template, agent_choice=True
    ) as bot:
        await say(bot, "/agent kakobuy", user_id=USER)
        await bot.feed(message_update(TWO_DIMS, user_id=USER))
        card = Card(bot, bot.cards()[0])
        first = list(urls(card.markup))
        assert first[:3] == ["Open on Taobao", "🛒 Buy through us", "🛒 Buy on Kakobuy"]
        await card.tap_button("黑色")
        assert "skuId" not in str(urls(card.markup))  # not every dimension chosen yet
        await card.tap_button("M")
        links = urls(card.markup)
        sku = "5120034877101"
        assert links["Open on Taobao"].endswith(f"?id=734912856301&skuId={sku}")
        assert unquote(links["🛒 Buy through us"]).endswith(f"&skuId={sku}")
        kakobuy = parse_item_url(links["🛒 Buy on Kakobuy"])
        assert kakobuy is not None and kakobuy.sku_id == sku
        await card.tap_button("Other agents")
        others = urls(card.markup)
        assert parse_item_url(others["AllChinaBuy"]).sku_id == sku  # type: ignore[union-attr]
        assert parse_item_url(others["CNFans"]).sku_id is None  # type: ignore[union-attr]
        assert catbuy.calls_to("/item") == 1


async def test_with_agent_choice_off_the_card_is_as_before(
    redis_url: str, catbuy: FakeCatBuy
) -> None:
    template = "https://agent.example/p?url={url}"
    async with running_bot(redis_url, catbuy, buy_url_template=template) as bot:
        assert await say(bot, "/agent kakobuy", user_id=USER) == [
            "This bot's operator has set the shopping agent; there is nothing to choose."
        ]
        await bot.feed(message_update(TWO_DIMS, user_id=USER))
        [card] = bot.cards()
    assert list(urls(card.reply_markup)) == ["Open on Taobao", "🛒 Buy through us"]
    labels = [b["text"] for b in buttons(card.reply_markup)]
    assert "🌐 Other agents" not in labels


async def test_help_and_the_command_menu_list_agent_when_it_is_on(
    agents_bot: Harness, redis_url: str, catbuy: FakeCatBuy
) -> None:
    [text] = await say(agents_bot, "/help", user_id=USER)
    assert "/agent" in text
    async with running_bot(redis_url, catbuy, agent_choice=False) as off:
        [text] = await say(off, "/help", user_id=USER)
    assert "/agent" not in text


# Free link cards -------------------------------------------------------------------


def free_cards(bot: Harness) -> list[Any]:
    return [c for c in bot.sent("sendMessage") if c.ok and "🔗" in str(c.params["text"])]


async def check_free_card(bot: Harness, catbuy: FakeCatBuy, reason: str, **where: Any) -> None:
    calls = catbuy.calls_to("/item")
    await bot.feed(message_update(OTHER_ITEM, **where))
    [card] = free_cards(bot)
    text = str(card.params["text"])
    assert "Tmall item 712455609913" in text
    assert reason in text
    links = urls(card.reply_markup)
    assert links["Open on Tmall"] == "https://detail.tmall.com/item.htm?id=712455609913"
    assert parse_item_url(links["🛒 Buy on Kakobuy"]) == parse_item_url(OTHER_ITEM)
    assert "CNFans" in links  # the popular agents besides
    assert card.params["reply_to_message_id"]
    assert catbuy.calls_to("/item") == calls  # not one upstream call


@pytest.mark.parametrize(
    ("settings", "reason", "group"),
    [
        ({"user_daily_quota": 0}, "Your look-ups for today are used up", False),
        ({"chat_daily_quota": 0}, "This group's look-ups for today are used up", True),
        ({"daily_budget_requests": 0}, "The bot's daily budget is used up", False),
    ],
)
async def test_a_refused_look_up_gets_a_free_link_card(
    redis_url: str,
    catbuy: FakeCatBuy,
    settings: dict[str, Any],
    reason: str,
    group: bool,
) -> None:
    async with running_bot(redis_url, catbuy, agent_referrals=REFERRALS, **settings) as bot:
        where: dict[str, Any] = {"user_id": MEMBER}
        if group:
            bot.session.telegram.set_member(GROUP, ADMIN, "creator")
            where.update(chat_id=GROUP, chat_type="supergroup")
            await say(bot, "/agent kakobuy", chat_id=GROUP, chat_type="supergroup", user_id=ADMIN)
        else:
            await say(bot, "/agent kakobuy", user_id=MEMBER)
        await check_free_card(bot, catbuy, reason, **where)
        assert "(00:00 UTC)" in str(free_cards(bot)[0].params["text"])


async def test_an_open_breaker_gets_a_free_link_card(
    agents_bot: Harness, catbuy: FakeCatBuy
) -> None:
    await say(agents_bot, "/agent kakobuy", user_id=MEMBER)
    catbuy.force(402, times=None)
    await agents_bot.feed(message_update(TWO_DIMS, user_id=MEMBER))  # opens the breaker
    assert catbuy.calls_to("/item") == 1
    agents_bot.clear()
    await check_free_card(
        agents_bot, catbuy, "Product details are temporarily unavailable", user_id=MEMBER
    )


async def test_a_busy_queue_gets_a_free_link_card(redis_url: str, catbuy: FakeCatBuy) -> None:
    # One call every 50 s: the second item would wait past MAX_QUEUE_WAIT_SECONDS.
    async with running_bot(
        redis_url,
        catbuy,
        agent_referrals=REFERRALS,
        catbuy_rps=0.02,
        max_queue_wait_seconds=1,
    ) as bot:
        await say(bot, "/agent kakobuy", user_id=MEMBER)
        await bot.feed(message_update(TWO_DIMS, user_id=MEMBER))
        assert len(bot.cards()) == 1
        await check_free_card(bot, catbuy, "The bot is busy", user_id=MEMBER)


async def test_a_forged_other_agents_tap_changes_nothing(agents_bot: Harness) -> None:
    await agents_bot.feed(message_update(TWO_DIMS, user_id=USER))
    card = Card(agents_bot, agents_bot.cards()[0])
    before = card.markup
    assert await card.tap(f"c:{card.token}:a:0:7") == "This button is no longer valid."
    assert card.markup == before


async def test_free_link_cards_in_a_group_keep_to_the_flood_guard(
    redis_url: str, catbuy: FakeCatBuy
) -> None:
    """One message a minute: a second card would wait past what a stop can drain, so
    the next pastes get nothing (a muted or flooding group costs nothing)."""
    async with running_bot(
        redis_url, catbuy, chat_daily_quota=0, telegram_group_per_minute=1
    ) as bot:
        group = {"chat_id": GROUP, "chat_type": "supergroup", "user_id": MEMBER}
        await bot.feed(message_update(TWO_DIMS, **group))
        assert len(free_cards(bot)) == 1
        await bot.feed(message_update(OTHER_ITEM, **group))
        await bot.feed(message_update("https://detail.1688.com/offer/812345609871.html", **group))
        assert len(free_cards(bot)) == 1
        metrics = bot.app.metrics.render().decode()
        assert 'quota_refusals_total{kind="group_flood"} 2.0' in metrics
        assert catbuy.calls_to("/item") == 0
