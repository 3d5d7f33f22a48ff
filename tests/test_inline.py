"""Inline mode through aiogram's Dispatcher: queries, answers in time, taps on inline cards."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from bot.cards.inline import ANSWER_WITHIN, SETTLE
from bot.telegram.callbacks import CardTap
from tests.fakes.catbuy_server import FakeCatBuy
from tests.fakes.telegram import FakeTelegram, SentCall
from tests.fakes.telegram.inline import InlineMode
from tests.harness import Harness, running_bot

TWO_DIMS = "https://item.taobao.com/item.htm?id=734912856301"
WEIDIAN = "https://weidian.com/item.html?itemID=7401128856"
USER = 91234567
OTHER = 6


def inline(bot: Harness) -> InlineMode:
    return bot.session.telegram.inline


def answers(bot: Harness) -> list[SentCall]:
    return [c for c in bot.sent("answerInlineQuery") if c.ok]


async def ask(bot: Harness, text: str, user_id: int = USER, lang: str = "en") -> list[Any]:
    """Type ``@bot text``; the results the bot answered with (None: no answer)."""
    update = inline(bot).query(text, user_id=user_id, language_code=lang)
    await bot.feed(update)
    assert update.inline_query is not None
    results = inline(bot).answered(update.inline_query.id)
    assert results is not None, "the query was not answered"
    return results


def buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [b for row in (markup or {}).get("inline_keyboard", []) for b in row]


def tap_data(markup: dict[str, Any] | None, text_part: str) -> str:
    return next(
        b["callback_data"]
        for b in buttons(markup)
        if text_part in b["text"] and "callback_data" in b
    )


@pytest.mark.parametrize(
    "text",
    [
        TWO_DIMS,
        "https://m.tb.cn/h.Short?tk=1 look at this",
        f"{TWO_DIMS}&spm=a1z10.1-c&abbucket=9 nice hoodie",
        "https://www.kakobuy.com/item/details?url=https%3A%2F%2Fitem.taobao.com%2Fitem.htm%3Fid%3D734912856301",
    ],
)
async def test_a_link_in_any_form_answers_with_the_card(
    bot: Harness, catbuy: FakeCatBuy, text: str
) -> None:
    bot.shortlinks.redirect("https://m.tb.cn/h.Short?tk=1", TWO_DIMS)
    [result] = await ask(bot, text)
    assert result["type"] == "photo"
    assert "¥" in result["caption"] and len(result["caption"]) <= 1024
    assert any("callback_data" in b for b in buttons(result["reply_markup"]))  # the picker
    assert any("taobao.com" in b.get("url", "") for b in buttons(result["reply_markup"]))
    [call] = answers(bot)
    assert call.params["is_personal"] is True and call.params["cache_time"] <= 60
    assert str(USER) not in result["id"] and "734912856301" not in result["id"]
    assert catbuy.calls == 1


async def test_a_query_without_a_link_costs_nothing_and_offers_the_private_chat(
    bot: Harness, catbuy: FakeCatBuy
) -> None:
    for text in ["", "hello", "https://evil-taobao.com/item.htm?id=1", "https://shop.taobao.com/"]:
        assert await ask(bot, text) == []
    assert all(c.params["button"]["start_parameter"] == "inline" for c in answers(bot))
    assert catbuy.calls == 0


async def test_a_cached_item_is_answered_at_once_and_free(bot: Harness, catbuy: FakeCatBuy) -> None:
    await ask(bot, TWO_DIMS)
    started = time.monotonic()
    [result] = await ask(bot, TWO_DIMS, user_id=OTHER)
    assert time.monotonic() - started < SETTLE  # no waiting for more keystrokes
    assert result["type"] == "photo"
    assert catbuy.calls == 1


async def test_keystrokes_make_one_upstream_call_for_the_link_typed_last(
    bot: Harness, catbuy: FakeCatBuy
) -> None:
    """Every prefix of an item id is a whole link: only the one the user stops at is paid."""
    typed = [TWO_DIMS[: len(TWO_DIMS) - cut] for cut in range(8, -1, -1)]
    updates = [inline(bot).query(text, user_id=USER) for text in typed]

    async def type_key(index: int) -> None:
        await asyncio.sleep(index * 0.05)
        await bot.feed(updates[index])

    await asyncio.gather(*(type_key(i) for i in range(len(updates))))
    assert catbuy.calls == 1
    assert catbuy.requests[0].form["url"].endswith("734912856301")
    last = updates[-1].inline_query
    assert last is not None
    [result] = inline(bot).answered(last.id) or []
    assert result["type"] == "photo"


async def test_identical_queries_of_many_users_make_one_call(
    bot: Harness, catbuy: FakeCatBuy
) -> None:
    catbuy.latency = 0.3
    await asyncio.gather(*(ask(bot, TWO_DIMS, user_id=100 + n) for n in range(5)))
    assert catbuy.calls == 1


async def test_over_quota_the_free_link_card_and_no_call(
    redis_url: str, catbuy: FakeCatBuy
) -> None:
    async with running_bot(redis_url, catbuy, user_daily_quota=1) as bot:
        await ask(bot, TWO_DIMS)
        [result] = await ask(bot, WEIDIAN)
        assert result["type"] == "article"
        text = result["input_message_content"]["message_text"]
        assert "7401128856" in text and "look-ups" in text
        assert any("weidian.com" in b.get("url", "") for b in buttons(result["reply_markup"]))
        assert catbuy.calls == 1


async def test_a_slow_upstream_gets_the_free_card_in_time_and_fills_the_cache(
    bot: Harness, catbuy: FakeCatBuy
) -> None:
    catbuy.latency = ANSWER_WITHIN + 1.5
    started = time.monotonic()
    [result] = await ask(bot, TWO_DIMS)
    assert time.monotonic() - started < 5.0
    assert result["type"] == "article"
    assert "734912856301" in result["input_message_content"]["message_text"]
    [call] = answers(bot)
    assert call.params["cache_time"] == 0  # the next query must reach the bot again
    for _ in range(60):  # the look-up goes on
        if await bot.app.services.lookup.cached(_ref(), "en"):
            break
        await asyncio.sleep(0.1)
    [result] = await ask(bot, TWO_DIMS)
    assert result["type"] == "photo"
    assert catbuy.calls == 1


def _ref() -> Any:
    from bot.links.urls import parse_item_url

    ref = parse_item_url(TWO_DIMS)
    assert ref is not None
    return ref


async def test_a_photo_telegram_refuses_falls_back_to_a_text_card(
    bot: Harness, catbuy: FakeCatBuy
) -> None:
    [first] = await ask(bot, TWO_DIMS)
    inline(bot).refused_photo_urls.add(first["photo_url"])
    [result] = await ask(bot, TWO_DIMS, user_id=OTHER)
    assert result["type"] == "article"
    assert "¥" in result["input_message_content"]["message_text"]
    # The text card's taps edit it as text, not as the photo it was first offered as.
    sent = inline(bot).choose(_last_query_id(bot))
    bot.clear()
    black = tap_data(sent.reply_markup, "黑色")
    await bot.feed(inline(bot).tap(sent.inline_message_id, black, user_id=OTHER))
    [edit] = [c for c in bot.sent() if c.method.startswith("editMessage")]
    assert edit.method == "editMessageText" and edit.ok


async def test_taps_on_an_inline_card_edit_it_by_its_inline_message_id(
    bot: Harness, catbuy: FakeCatBuy
) -> None:
    [result] = await ask(bot, TWO_DIMS)
    assert result["type"] == "photo"
    sent = inline(bot).choose(_last_query_id(bot))
    assert sent.has_photo
    bot.clear()
    await bot.feed(
        inline(bot).tap(sent.inline_message_id, tap_data(sent.reply_markup, "黑色"), user_id=USER)
    )
    edits = [c for c in bot.sent() if c.method.startswith("editMessage")]
    assert edits and all(c.ok for c in edits)
    assert all(c.params.get("inline_message_id") == sent.inline_message_id for c in edits)
    assert all("chat_id" not in c.params for c in edits)
    assert "✅ 黑色" in [
        b["text"] for b in buttons(inline(bot).message(sent.inline_message_id).reply_markup)
    ]
    assert catbuy.calls == 1  # taps never call the upstream


async def test_a_forged_inline_tap_changes_nothing(bot: Harness, catbuy: FakeCatBuy) -> None:
    await ask(bot, TWO_DIMS)
    mine = inline(bot).choose(_last_query_id(bot))
    await ask(bot, TWO_DIMS, user_id=OTHER)
    theirs = inline(bot).choose(_last_query_id(bot))
    # Their message is bound to its own card by a first, honest tap.
    await bot.feed(
        inline(bot).tap(
            theirs.inline_message_id, tap_data(theirs.reply_markup, "黑色"), user_id=OTHER
        )
    )
    bot.clear()
    forged = tap_data(mine.reply_markup, "燕麦白")
    await bot.feed(inline(bot).tap(theirs.inline_message_id, forged, user_id=OTHER))
    [answer] = bot.sent("answerCallbackQuery")
    assert answer.params["text"] == "This button is no longer valid."
    assert not [c for c in bot.sent() if c.method.startswith("editMessage")]
    assert (
        CardTap.unpack(forged).token != CardTap.unpack(tap_data(theirs.reply_markup, "黑色")).token
    )


async def test_a_tap_on_an_unknown_inline_card_says_it_expired(bot: Harness) -> None:
    data = CardTap(token="AAAAAAAAAAAA", act="o", dim=0, opt=0).pack()
    await bot.feed(inline(bot).tap("AgAAA999999", data, user_id=USER))
    [answer] = bot.sent("answerCallbackQuery")
    assert "expired" in answer.params["text"]


async def test_two_replicas_share_inline_cards_and_keystrokes(
    redis_url: str, catbuy: FakeCatBuy
) -> None:
    telegram = FakeTelegram()
    async with (
        running_bot(redis_url, catbuy, telegram=telegram) as one,
        running_bot(redis_url, catbuy, telegram=telegram) as two,
    ):
        first = telegram.inline.query(TWO_DIMS[:-1], user_id=USER)
        second = telegram.inline.query(TWO_DIMS, user_id=USER)

        async def later() -> None:
            await asyncio.sleep(0.1)
            await two.feed(second)

        await asyncio.gather(one.feed(first), later())
        assert catbuy.calls == 1  # the first replica's query was superseded on the second
        assert second.inline_query is not None
        sent = telegram.inline.choose(second.inline_query.id)
        await one.feed(
            telegram.inline.tap(
                sent.inline_message_id, tap_data(sent.reply_markup, "黑色"), user_id=USER
            )
        )
        assert "✅ 黑色" in [
            b["text"] for b in buttons(telegram.inline.message(sent.inline_message_id).reply_markup)
        ]


def _last_query_id(bot: Harness) -> str:
    return str(answers(bot)[-1].params["inline_query_id"])


async def test_inline_cards_carry_the_users_own_agent(bot: Harness, catbuy: FakeCatBuy) -> None:
    from tests.fakes.telegram import message_update

    await bot.feed(message_update("/agent kakobuy", user_id=USER))
    [result] = await ask(bot, TWO_DIMS)
    agent = [b for b in buttons(result["reply_markup"]) if "Kakobuy" in b["text"]]
    assert agent and "kakobuy" in agent[0]["url"]
    async with running_bot(bot.app.settings.redis_url, catbuy, user_daily_quota=1) as poor:
        await poor.feed(message_update("/agent kakobuy", user_id=OTHER))
        await ask(poor, WEIDIAN, user_id=OTHER)
        [free] = await ask(poor, "https://item.taobao.com/item.htm?id=1234567", user_id=OTHER)
        assert free["type"] == "article"
        assert any("kakobuy" in b.get("url", "") for b in buttons(free["reply_markup"]))
