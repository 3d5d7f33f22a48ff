"""Tapping through a card's picker and gallery, through aiogram's Dispatcher."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bot.cards import state as card_state
from bot.telegram.callbacks import CardAct, CardTap
from tests.conftest import FIXTURES
from tests.fakes.catbuy_server import FakeCatBuy
from tests.fakes.telegram import QUERY_TOO_OLD, FakeTelegram, SentCall, message_update
from tests.harness import Harness, running_bot
from tests.redis_server import running_redis

TWO_DIMS = "https://item.taobao.com/item.htm?id=734912856301"
USER = 5


def buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [b for row in (markup or {}).get("inline_keyboard", []) for b in row]


def find(markup: dict[str, Any] | None, text_part: str) -> dict[str, Any]:
    return next(b for b in buttons(markup) if text_part in b["text"])


class Card:
    """The card as the user sees it, tapped through the bot."""

    def __init__(self, bot: Harness, call: SentCall, chat_id: int = USER) -> None:
        self.bot = bot
        self.message_id = call.response["result"]["message_id"]
        self.chat_id = chat_id
        self.markup = call.reply_markup
        self.caption = str(call.params.get("caption"))
        self.photo = call.params.get("photo")

    @property
    def token(self) -> str:
        data = next(b["callback_data"] for b in buttons(self.markup) if "callback_data" in b)
        return str(CardTap.unpack(data).token)

    async def tap(self, data: str, user_id: int = USER) -> str | None:
        """Tap; returns the toast. The card's view follows the bot's edits."""
        before = len(self.bot.session.sent)
        telegram = self.bot.session.telegram
        await self.bot.feed(telegram.tap(self.chat_id, self.message_id, data, user_id=user_id))
        new = self.bot.session.sent[before:]
        [answer] = [c for c in new if c.method == "answerCallbackQuery"]
        for call in new:
            if call.method.startswith("editMessage") and call.ok:
                self.markup = call.reply_markup
                media = call.params.get("media")
                if media:
                    self.caption = str(media.get("caption"))
                    self.photo = media.get("media")
                else:
                    self.caption = str(call.params.get("caption", call.params.get("text")))
        return answer.params.get("text")

    async def tap_button(self, text_part: str, user_id: int = USER) -> str | None:
        return await self.tap(find(self.markup, text_part)["callback_data"], user_id)


async def open_card(bot: Harness, link: str = TWO_DIMS) -> Card:
    await bot.feed(message_update(link, user_id=USER))
    [call] = bot.cards()
    return Card(bot, call)


async def test_full_choice_shows_the_sku_price_and_stock(bot: Harness, catbuy: FakeCatBuy) -> None:
    card = await open_card(bot)
    assert await card.tap_button("黑色") is None
    assert "✅ 黑色" in [b["text"] for b in buttons(card.markup)]
    assert card.photo.endswith("O1CN01ColorBlk00001_!!2208765401234.jpg")  # the colour's image
    assert "✖ XL" in [b["text"] for b in buttons(card.markup)]  # black XL has no stock
    assert await card.tap_button("XL") == "Out of stock"
    await card.tap_button("M")
    assert "¥89.00" in card.caption and "120" in card.caption
    assert catbuy.calls_to("/item") == 1  # taps never call the upstream


async def test_tapping_a_chosen_option_unchooses_it_and_reset_clears(bot: Harness) -> None:
    card = await open_card(bot)
    await card.tap_button("燕麦白")
    await card.tap_button("✅ 燕麦白")
    assert not any(b["text"].startswith("✅") for b in buttons(card.markup))
    await card.tap_button("雾霾蓝")
    await card.tap_button("L")
    await card.tap_button("Reset")
    assert not any(b["text"].startswith("✅") for b in buttons(card.markup))
    assert "Reset" not in " ".join(b["text"] for b in buttons(card.markup))


async def test_gallery_pages_the_photos_in_place(bot: Harness) -> None:
    card = await open_card(bot)
    first = card.photo
    await card.tap_button("▶")
    assert card.photo != first and "2/5" in [b["text"] for b in buttons(card.markup)]
    await card.tap_button("◀")
    await card.tap_button("◀")
    assert "5/5" in [b["text"] for b in buttons(card.markup)]
    assert not card.photo.endswith(".webp")


async def test_expired_forged_and_malformed_taps_are_answered_and_change_nothing(
    bot: Harness,
) -> None:
    card = await open_card(bot)
    before = len(bot.session.sent)
    unknown = CardTap(token="ZZZZZZZZZZZZ", act=CardAct.OPTION, dim=0, opt=0).pack()
    assert await card.tap(unknown) == "This button is no longer valid."
    forged = CardTap(token=card.token, act=CardAct.OPTION, dim=5, opt=99).pack()
    assert await card.tap(forged) == "This button is no longer valid."
    assert await card.tap("c:" + card.token + ":z:0:0") == "This button is no longer valid."
    assert await card.tap("garbage") == "This button is no longer valid."
    assert await card.tap(CardTap(token="../../etc", act=CardAct.RESET).pack())
    await bot.app.store.flushall()  # the card's state is gone, as after PICKER_TTL_SECONDS
    assert "expired" in (await card.tap_button("黑色") or "")
    new = bot.session.sent[before:]
    assert {c.method for c in new} == {"answerCallbackQuery"}


async def test_one_cards_tap_sent_on_another_message_changes_neither(bot: Harness) -> None:
    """Callback data are not signed, and a group sees every card's tokens: a
    modified client could send card A's data on its own card B."""
    group = -100556
    await bot.feed(message_update(TWO_DIMS, chat_id=group, chat_type="group", user_id=USER))
    [call] = bot.cards()
    theirs = Card(bot, call, chat_id=group)
    mine = await open_card(bot, "https://detail.tmall.com/item.htm?id=712455609914")
    before = len(bot.session.sent)
    stolen = find(theirs.markup, "雾霾蓝")["callback_data"]
    assert await mine.tap(stolen) == "This button is no longer valid."
    assert {c.method for c in bot.session.sent[before:]} == {"answerCallbackQuery"}
    state = await bot.app.services.cards.get(theirs.token)
    assert state is not None and state.choice == (-1, -1)


async def test_anyone_in_a_group_may_use_the_card(bot: Harness) -> None:
    group = -100555
    await bot.feed(message_update(TWO_DIMS, chat_id=group, chat_type="group", user_id=USER))
    [call] = bot.cards()
    card = Card(bot, call, chat_id=group)
    await card.tap_button("黑色", user_id=999)
    assert "✅ 黑色" in [b["text"] for b in buttons(card.markup)]


async def test_concurrent_taps_never_corrupt_the_card(bot: Harness) -> None:
    card = await open_card(bot)
    page = CardTap(token=card.token, act=CardAct.GALLERY, opt=1).pack()
    colour = CardTap(token=card.token, act=CardAct.OPTION, dim=0, opt=2).pack()
    size = CardTap(token=card.token, act=CardAct.OPTION, dim=1, opt=1).pack()
    updates = [
        bot.session.telegram.tap(USER, card.message_id, d, user_id=USER + i)
        for i, d in enumerate([page, colour, size] * 5)
    ]
    await asyncio.gather(*(bot.feed(u) for u in updates))
    state = await bot.app.services.cards.get(card.token)
    assert state is not None
    assert len(state.choice) == 2
    assert all(c in (-1, 1, 2) for c in state.choice)
    answers = [c for c in bot.session.sent if c.method == "answerCallbackQuery"]
    assert len(answers) == 15


async def test_two_quick_taps_leave_the_card_showing_the_last_one(bot: Harness) -> None:
    card = await open_card(bot)
    black, white = (find(card.markup, label)["callback_data"] for label in ("黑色", "燕麦白"))
    telegram = bot.session.telegram
    bot.session.delay_next("answerCallbackQuery", 0.3)  # the first tap's answer is slow
    first = asyncio.ensure_future(
        bot.feed(telegram.tap(USER, card.message_id, black, user_id=USER))
    )
    await asyncio.sleep(0.02)
    await bot.feed(telegram.tap(USER, card.message_id, white, user_id=USER))
    await first
    edits = [c for c in bot.session.sent if c.method.startswith("editMessage")]
    shown = str(edits[-1].params.get("media", {}).get("caption") or edits[-1].params.get("caption"))
    state = await bot.app.services.cards.get(card.token)
    assert state is not None and state.choice == (1, -1)  # 燕麦白, the last tap
    assert [line for line in shown.splitlines() if line.startswith("🎯")] == ["🎯 颜色分类: 燕麦白"]


async def test_two_quick_taps_on_two_replicas_leave_the_card_showing_the_last_one(
    redis_url: str, catbuy: FakeCatBuy
) -> None:
    """Replica A's redraw of the first tap waits (its chat's send queue, the network)
    while replica B draws the second at once: A's stale edit lands last."""
    telegram = FakeTelegram()
    async with (
        running_bot(redis_url, catbuy, telegram=telegram) as first_replica,
        running_bot(redis_url, catbuy, telegram=telegram) as second_replica,
    ):
        card = await open_card(first_replica)
        black, size_m = (find(card.markup, label)["callback_data"] for label in ("黑色", "M"))
        first_replica.session.delay_next("editMessageMedia", 0.4)
        first = asyncio.ensure_future(
            first_replica.feed(telegram.tap(USER, card.message_id, black, user_id=USER))
        )
        await asyncio.sleep(0.1)
        await second_replica.feed(telegram.tap(USER, card.message_id, size_m, user_id=USER))
        await first
        [last, *_] = reversed([c for c in telegram.sent if c.method.startswith("edit") and c.ok])
        chosen = [b["text"] for b in buttons(last.reply_markup) if b["text"].startswith("✅")]
        assert chosen == ["✅ 黑色", "✅ M"]
        assert "🎯 颜色分类: 黑色 · 尺码: M" in str(last.params)


async def test_a_tap_is_answered_while_an_earlier_taps_edit_is_on_its_way(bot: Harness) -> None:
    card = await open_card(bot)
    black, white = (find(card.markup, label)["callback_data"] for label in ("黑色", "燕麦白"))
    telegram = bot.session.telegram
    bot.session.delay_next("editMessageMedia", 0.5)  # the first redraw is slow
    first = asyncio.ensure_future(
        bot.feed(telegram.tap(USER, card.message_id, black, user_id=USER))
    )
    await asyncio.sleep(0.1)
    await bot.feed(telegram.tap(USER, card.message_id, white, user_id=USER))
    await first
    answers = [c for c in bot.session.sent if c.method == "answerCallbackQuery"]
    edits = [c for c in bot.session.sent if c.method.startswith("editMessage")]
    assert len(answers) == 2 and answers[1].time < edits[0].time
    assert "燕麦白" in str(edits[-1].params)


async def test_a_tap_answered_too_late_still_changes_the_card(bot: Harness) -> None:
    """A backlog (after a restart, say) makes Telegram refuse late answers: the
    card must still show the choice the bot stored, and no apology is tried."""
    card = await open_card(bot)
    bot.session.fail_next("answerCallbackQuery", 400, QUERY_TOO_OLD)
    await card.tap_button("黑色")
    assert "✅ 黑色" in [b["text"] for b in buttons(card.markup)]
    assert not bot.messages()


async def test_a_card_that_cannot_be_redrawn_leaves_the_tap_answered(bot: Harness) -> None:
    card = await open_card(bot)
    bot.session.fail_next("editMessageMedia", 400, "Bad Request: message to edit not found")
    assert await card.tap_button("黑色") is None  # answered once, no apology over it
    assert not bot.messages()
    await card.tap_button("M")  # the next tap draws what is stored
    assert "✅ 黑色" in [b["text"] for b in buttons(card.markup)]


async def test_link_naming_a_sku_opens_with_that_variant_chosen(bot: Harness) -> None:
    card = await open_card(bot, TWO_DIMS + "&skuId=5120034877111")
    chosen = [b["text"] for b in buttons(card.markup) if b["text"].startswith("✅")]
    assert chosen == ["✅ 燕麦白", "✅ M"]
    assert "123" in card.caption


def thirty_sizes(catbuy: FakeCatBuy) -> str:
    body = json.loads((FIXTURES / "tmall_one_dim_numeric.json").read_text())
    data = body["data"]
    data["num_iid"] = "712455609999"
    data["props_list"] = {f"0:{i}": f"Size:EU {30 + i}" for i in range(30)}
    data["skus"] = {
        "sku": [
            {"properties": f"0:{i}", "price": 100 + i, "quantity": i % 3, "sku_id": f"9{i}"}
            for i in range(30)
        ]
    }
    catbuy.add_item("712455609999", body)
    return "https://detail.tmall.com/item.htm?id=712455609999"


async def test_thirty_sizes_page_within_the_keyboard(bot: Harness, catbuy: FakeCatBuy) -> None:
    card = await open_card(bot, thirty_sizes(catbuy))
    labels = [b["text"] for b in buttons(card.markup)]
    assert "EU 59" not in " ".join(labels)
    await card.tap_button("▶")  # the picker's pager comes before the gallery's
    labels = [b["text"] for b in buttons(card.markup)]
    assert any("EU 59" in label for label in labels)
    assert len(buttons(card.markup)) <= 100


async def test_a_sku_on_a_later_page_opens_on_that_page(bot: Harness, catbuy: FakeCatBuy) -> None:
    card = await open_card(bot, thirty_sizes(catbuy) + "&skuId=925")
    assert "✅ EU 55" in [b["text"] for b in buttons(card.markup)]


async def test_taps_while_redis_is_down_get_a_short_answer(catbuy: FakeCatBuy) -> None:
    with running_redis() as server:
        async with running_bot(server.url, catbuy) as bot:
            card = await open_card(bot)
            server.stop()
            toast = await card.tap_button("黑色")
            server.start()
            assert toast is not None and "went wrong" in toast
            # It recovers by itself; this Redis kept nothing, so the card is gone.
            assert "expired" in (await card.tap_button("黑色") or "")


async def test_a_refused_gallery_photo_is_uploaded_once(bot: Harness) -> None:
    card = await open_card(bot)
    await card.tap_button("▶")
    second = card.photo
    await card.tap_button("◀")
    bot.session.refuse_photo_url(second)
    bot.clear()
    await card.tap_button("▶")  # refused by URL: downloaded and uploaded
    edits = bot.sent("editMessageMedia")
    assert [c.ok for c in edits] == [False, True] and edits[1].files
    await card.tap_button("◀")
    bot.clear()
    await card.tap_button("▶")  # by the file_id the upload gave
    [edit] = bot.sent("editMessageMedia")
    assert edit.ok and str(card.photo).startswith("AgAC") and not edit.files


async def test_a_photo_refused_by_url_and_as_bytes_still_lets_the_card_move_on(
    bot: Harness,
) -> None:
    card = await open_card(bot)
    bot.session.fail_next(
        "editMessageMedia", 400, "Bad Request: wrong type of the web page content"
    )
    bot.session.fail_next("editMessageMedia", 400, "Bad Request: IMAGE_PROCESS_FAILED")
    await card.tap_button("▶")
    assert "2/5" in [b["text"] for b in buttons(card.markup)]  # the old photo stays
    await card.tap_button("▶")
    assert "3/5" in [b["text"] for b in buttons(card.markup)]


async def test_a_card_too_busy_to_change_asks_for_another_tap(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = await open_card(bot)
    monkeypatch.setattr(card_state, "MAX_ATTEMPTS", 0)  # every round lost to other taps
    bot.clear()
    assert await card.tap_button("黑色") == "Many taps at once: please tap again."
    assert {c.method for c in bot.sent()} == {"answerCallbackQuery"}
    monkeypatch.undo()
    assert await card.tap_button("黑色") is None  # and the next tap works


BLACK_PHOTO = (
    "https://img.alicdn.com/imgextra/i1/2208765401234/O1CN01ColorBlk00001_!!2208765401234.jpg"
)


async def test_after_a_failed_photo_edit_the_next_redraw_puts_the_photo_right(
    bot: Harness,
) -> None:
    card = await open_card(bot)
    telegram = bot.session.telegram
    first_photo = telegram.message(USER, card.message_id).media_key
    bot.session.fail_next_with_page("editMessageMedia", times=2)  # the retry fails too
    await card.tap_button("黑色")  # its redraw fails: the chat keeps the first photo
    assert telegram.message(USER, card.message_id).media_key == first_photo
    await card.tap_button("M")  # the photo stays black's: only the caption would change
    shown = telegram.message(USER, card.message_id)
    assert shown.media_key == f"url:{BLACK_PHOTO}"
    assert "黑色 · 尺码: M" in shown.content.text


async def test_a_photo_edit_failed_on_one_replica_is_put_right_by_another(
    redis_url: str, catbuy: FakeCatBuy
) -> None:
    telegram = FakeTelegram()
    async with (
        running_bot(redis_url, catbuy, telegram=telegram) as first_replica,
        running_bot(redis_url, catbuy, telegram=telegram) as second_replica,
    ):
        card = await open_card(first_replica)
        black, size_m = (find(card.markup, label)["callback_data"] for label in ("黑色", "M"))
        first_replica.session.fail_next_with_page("editMessageMedia", times=2)
        await first_replica.feed(telegram.tap(USER, card.message_id, black, user_id=USER))
        await second_replica.feed(telegram.tap(USER, card.message_id, size_m, user_id=USER))
        assert telegram.message(USER, card.message_id).media_key == f"url:{BLACK_PHOTO}"
