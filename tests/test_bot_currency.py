"""Prices in the shopper's currency and the cost to the door, through aiogram's Dispatcher.

Real Redis, real Dispatcher; Telegram and CatBuy faked at their HTTP boundary.
Rates are the operator's (CURRENCY_RATES), so every figure below is worked out
by hand: 89 × 0.139 = 12.371 → $12.37.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiogram.types import Chat

from bot.cards.rendering import visible_length
from tests.conftest import FIXTURES
from tests.fakes.catbuy_server import FakeCatBuy
from tests.fakes.telegram import FakeTelegram, message_update
from tests.harness import Harness, running_bot
from tests.test_bot_picker import Card, buttons, find
from tests.test_inline import ask as ask_inline

TWO_DIMS = "https://item.taobao.com/item.htm?id=734912856301"  # ¥89–109, was ¥159, 350 g
RATES = "USD=0.139,RUB=12.9,EUR=0.128"
GROUP = -1001000002002
NBSP = "\xa0"

# (language, currency) → the price line's converted range and the original price's figure.
EXPECTED: dict[tuple[str, str], tuple[str, str]] = {
    ("en", "USD"): ("(≈ $12.37 – 15.15)", "(≈ $22.10)"),
    ("en", "RUB"): (f"(≈ RUB{NBSP}1,148 – 1,406)", f"(≈ RUB{NBSP}2,051)"),
    ("en", "EUR"): ("(≈ €11.39 – 13.95)", "(≈ €20.35)"),
    ("ru", "USD"): (f"(≈ 12,37 – 15,15{NBSP}$)", f"(≈ 22,10{NBSP}$)"),
    ("ru", "RUB"): (f"(≈ 1{NBSP}148 – 1{NBSP}406{NBSP}₽)", f"(≈ 2{NBSP}051{NBSP}₽)"),
    ("ru", "EUR"): (f"(≈ 11,39 – 13,95{NBSP}€)", f"(≈ 20,35{NBSP}€)"),
    ("zh", "USD"): ("(≈ US$12.37 – 15.15)", "(≈ US$22.10)"),
    ("zh", "RUB"): (f"(≈ RUB{NBSP}1,148 – 1,406)", f"(≈ RUB{NBSP}2,051)"),
    ("zh", "EUR"): ("(≈ €11.39 – 13.95)", "(≈ €20.35)"),
    ("es", "USD"): (f"(≈ 12,37 – 15,15{NBSP}US$)", f"(≈ 22,10{NBSP}US$)"),
    ("es", "RUB"): (f"(≈ 1.148 – 1.406{NBSP}RUB)", f"(≈ 2.051{NBSP}RUB)"),
    ("es", "EUR"): (f"(≈ 11,39 – 13,95{NBSP}€)", f"(≈ 20,35{NBSP}€)"),
}


async def paste(bot: Harness, user: int, lang: str = "en", **where: Any) -> dict[str, Any]:
    bot.clear()
    await bot.feed(message_update(TWO_DIMS, user_id=user, language_code=lang, **where))
    [card] = bot.cards()
    return card.params


async def command(bot: Harness, text: str, user: int, lang: str = "en", **where: Any) -> str:
    bot.clear()
    await bot.feed(message_update(text, user_id=user, language_code=lang, **where))
    [answer] = bot.messages()
    return answer


@pytest.fixture
async def money_bot(redis_url: str, catbuy: FakeCatBuy) -> Any:
    async with running_bot(
        redis_url,
        catbuy,
        default_currency=None,
        currency_rates=RATES,
        shipping_cny_per_kg="60",
        service_fee_percent="5",
    ) as bot:
        yield bot


@pytest.mark.parametrize(("lang", "currency"), sorted(EXPECTED))
async def test_cards_in_four_languages_and_three_currencies(
    money_bot: Harness, lang: str, currency: str
) -> None:
    user = 300 + sorted(EXPECTED).index((lang, currency))
    await command(money_bot, f"/currency {currency.lower()}", user, lang)
    caption = (await paste(money_bot, user, lang))["caption"]
    price, original = EXPECTED[lang, currency]
    assert f"💴 <b>¥89.00 – 109.00</b> {price}" in caption  # CNY kept, converted beside
    assert f"<s>¥159.00 {original}</s>" in caption


async def test_without_a_choice_the_language_decides_and_zh_does_not_convert(
    money_bot: Harness,
) -> None:
    assert "(≈ $12.37 – 15.15)" in (await paste(money_bot, 401, "en"))["caption"]
    assert "(≈ 11,39 – 13,95\xa0€)" in (await paste(money_bot, 402, "es"))["caption"]
    assert "1\xa0148 – 1\xa0406\xa0₽" in (await paste(money_bot, 403, "ru"))["caption"]
    caption = (await paste(money_bot, 404, "zh"))["caption"]
    assert "💴 <b>¥89.00 – 109.00</b>  <s>¥159.00</s>\n" in caption
    assert "🚚 到手价 ≈ ¥114.45 – 135.45（商品 + 5% 服务费 + 0.35 千克 运费）" in caption


async def test_the_cost_to_the_door_follows_the_picker(money_bot: Harness) -> None:
    params = await paste(money_bot, 410)
    # (89 × 1.05 + 0.35 × 60) × 0.139 = 114.45 × 0.139 = 15.90855 → $15.91
    line = "🚚 To your door ≈ $15.91 – 18.83 (¥114.45 – 135.45: item + 5% fee + 0.35 kg shipping)"
    assert line in params["caption"]
    [call] = money_bot.cards()
    card = Card(money_bot, call, chat_id=410)
    await card.tap_button("黑色", user_id=410)
    await card.tap_button("L", user_id=410)  # black L: ¥99
    assert "Variant price: <b>¥99.00</b> (≈ $13.76)" in card.caption  # 13.761
    # 99 × 1.05 + 21 = 124.95 → × 0.139 = 17.36805
    assert "🚚 To your door ≈ $17.37 (¥124.95: item + 5% fee + 0.35 kg shipping)" in card.caption


async def test_no_weight_no_cost_to_the_door(money_bot: Harness, catbuy: FakeCatBuy) -> None:
    body = json.loads((FIXTURES / "taobao_two_dims.json").read_text())
    body["data"]["sales_data"]["weight"] = None
    catbuy.add_item("734912856301", body)
    caption = (await paste(money_bot, 420))["caption"]
    assert "(≈ $12.37 – 15.15)" in caption and "🚚" not in caption


async def test_a_variant_s_own_weight_is_used_when_the_payload_gives_one(
    money_bot: Harness, catbuy: FakeCatBuy
) -> None:
    body = json.loads((FIXTURES / "taobao_two_dims.json").read_text())
    for sku in body["data"]["skus"]["sku"]:
        sku["weight"] = "1.2kg" if sku["properties"] == "0:0;1:1" else None
    catbuy.add_item("734912856301", body)
    await paste(money_bot, 421)
    [call] = money_bot.cards()
    card = Card(money_bot, call, chat_id=421)
    await card.tap_button("黑色", user_id=421)
    await card.tap_button("M", user_id=421)  # black M: ¥89, 1.2 kg
    # 89 × 1.05 + 1.2 × 60 = 165.45 → × 0.139 = 22.99755
    assert "≈ $23.00 (¥165.45: item + 5% fee + 1.2 kg shipping)" in card.caption


async def test_currency_shows_the_rate_its_source_and_a_keyboard(money_bot: Harness) -> None:
    text = await command(money_bot, "/currency", 430)
    assert "Your cards show prices in: <b>US Dollar (USD)</b>" in text
    assert "1 CNY = 0.139 USD · the operator's own rate" in text
    [answer] = [c for c in money_bot.sent("sendMessage") if c.ok]
    assert find(answer.reply_markup, "USD")["text"] == "✅ USD"
    labels = [b["text"] for b in buttons(answer.reply_markup)]
    assert labels == [
        "✅ USD", "EUR", "GBP", "RUB", "KZT", "UAH", "BYN", "PLN", "BRL", "CAD", "AUD",
        "CNY: no conversion",
    ]  # fmt: skip


async def test_a_reference_rate_names_the_ecb_and_its_date(money_bot: Harness) -> None:
    await command(money_bot, "/currency GBP", 431)
    text = await command(money_bot, "/currency", 431)
    assert "European Central Bank reference rate of Oct 30, 2026" in text
    assert "1 CNY = 0.11218 GBP" in text  # 0.83380 / 7.4326 per EUR, five digits
    assert "British Pound (GBP)" in text


async def test_tapping_a_currency_sets_it_and_the_next_card_uses_it(money_bot: Harness) -> None:
    await command(money_bot, "/currency", 432)
    [menu] = [c for c in money_bot.sent("sendMessage") if c.ok]
    message_id = menu.response["result"]["message_id"]
    telegram = money_bot.session.telegram
    money_bot.clear()
    await money_bot.feed(
        telegram.tap(432, message_id, find(menu.reply_markup, "EUR")["callback_data"], user_id=432)
    )
    [toast] = money_bot.sent("answerCallbackQuery")
    assert toast.params["text"] == "Cards now show prices in Euro (EUR) too."
    [edit] = money_bot.sent("editMessageText")
    assert find(edit.reply_markup, "EUR")["text"] == "✅ EUR"
    assert "(≈ €11.39 – 13.95)" in (await paste(money_bot, 432))["caption"]
    await command(money_bot, "/currency cny", 432)
    assert "≈" not in (await paste(money_bot, 432))["caption"].split("🚚")[0]


async def test_unknown_code_gets_the_supported_ones(money_bot: Harness) -> None:
    text = await command(money_bot, "/currency bitcoin", 440)
    assert text.startswith("Unknown currency: bitcoin. Supported: CNY, AUD,")
    assert "RUB" in text and "USD" in text
    assert "(≈ $12.37" in (await paste(money_bot, 440))["caption"]  # unchanged


async def test_a_currency_without_a_rate_is_said_so_never_shown_wrong(
    redis_url: str, catbuy: FakeCatBuy
) -> None:
    async with running_bot(redis_url, catbuy, default_currency=None) as bot:
        text = await command(bot, "/currency", 450, "ru")  # ru → RUB; the ECB has none
        assert "нет курса" in text and "RUB" in text
        caption = (await paste(bot, 450, "ru"))["caption"]
        assert "💴 <b>¥89.00 – 109.00</b>  <s>¥159.00</s>" in caption and "≈" not in caption
        text = await command(bot, "/currency KZT", 451)
        assert text.startswith("There is no exchange rate for KZT here. Supported: CNY, AUD")
        assert "KZT" not in text.split("Supported:")[1]
        assert "(≈ $" in (await paste(bot, 451))["caption"]  # the ECB's USD, unchanged


async def test_in_a_group_only_an_admin_sets_the_currency_and_every_card_uses_it(
    money_bot: Harness,
) -> None:
    group = {"chat_id": GROUP, "chat_type": "supergroup"}
    refused = await command(money_bot, "/currency EUR", 460, **group)
    assert refused == "Only the group's admins can change its currency."
    money_bot.session.telegram.set_member(GROUP, 461, "administrator")
    assert await command(money_bot, "/currency EUR", 461, **group) == (
        "Cards now show prices in Euro (EUR) too."
    )
    # A Russian member pastes: the group's currency, in the paster's language.
    caption = (await paste(money_bot, 462, "ru", **group))["caption"]
    assert f"(≈ 11,39 – 13,95{NBSP}€)" in caption
    assert "(≈ $12.37" in (await paste(money_bot, 460))["caption"]  # private: their own
    text = await command(money_bot, "/currency", 460, **group)
    assert "This group's cards show prices in: <b>Euro (EUR)</b>" in text


async def test_a_non_admin_tap_on_the_group_keyboard_changes_nothing(
    money_bot: Harness,
) -> None:
    group = {"chat_id": GROUP, "chat_type": "supergroup"}
    await command(money_bot, "/currency", 470, **group)
    [menu] = [c for c in money_bot.sent("sendMessage") if c.ok]
    telegram = money_bot.session.telegram
    money_bot.clear()
    data = find(menu.reply_markup, "GBP")["callback_data"]
    await money_bot.feed(
        telegram.tap(GROUP, menu.response["result"]["message_id"], data, user_id=470)
    )
    [toast] = money_bot.sent("answerCallbackQuery")
    assert toast.params["text"] == "Only the group's admins can change its currency."
    assert not money_bot.sent("editMessageText")
    assert "(≈ $12.37" in (await paste(money_bot, 471, **group))["caption"]


async def test_the_choice_is_shared_by_two_replicas(redis_url: str, catbuy: FakeCatBuy) -> None:
    telegram = FakeTelegram()
    settings = {"default_currency": None, "currency_rates": RATES, "telegram": telegram}
    async with (
        running_bot(redis_url, catbuy, **settings) as one,
        running_bot(redis_url, catbuy, **settings) as two,
    ):
        await command(one, "/currency RUB", 480)
        caption = (await paste(two, 480))["caption"]
        assert f"(≈ RUB{NBSP}1,148 – 1,406)" in caption


async def test_a_long_title_keeps_its_room_and_the_price_with_conversion(
    money_bot: Harness, catbuy: FakeCatBuy
) -> None:
    body = json.loads((FIXTURES / "taobao_two_dims.json").read_text())
    body["data"]["title"] = "很长的标题" * 200
    body["data"]["seller_info"]["shop_name"] = "店" * 200
    catbuy.add_item("734912856301", body)
    await command(money_bot, "/currency RUB", 490, "ru")
    caption = (await paste(money_bot, 490, "ru"))["caption"]
    assert visible_length(caption) <= 1024
    assert caption.startswith("<b>很长的标题")
    assert f"💴 <b>¥89.00 – 109.00</b> (≈ 1{NBSP}148 – 1{NBSP}406{NBSP}₽)" in caption


async def test_help_names_currency(money_bot: Harness) -> None:
    assert "/currency: the currency card prices are converted to" in await command(
        money_bot, "/help", 495
    )
    assert "/currency: валюта" in await command(money_bot, "/help", 495, "ru")


async def test_a_demoted_admin_is_refused_at_once(money_bot: Harness) -> None:
    group = {"chat_id": GROUP, "chat_type": "supergroup"}
    money_bot.session.telegram.set_member(GROUP, 496, "creator")
    assert "Euro" in await command(money_bot, "/currency EUR", 496, **group)
    money_bot.session.telegram.set_member(GROUP, 496, "member")
    refused = await command(money_bot, "/currency GBP", 496, **group)
    assert refused == "Only the group's admins can change its currency."


async def test_an_anonymous_admin_writes_as_the_group(money_bot: Harness) -> None:
    update = message_update(
        "/currency EUR", chat_id=GROUP, chat_type="supergroup", user_id=1087968824
    )
    assert update.message is not None
    anonymous = update.message.model_copy(
        update={"sender_chat": Chat(id=GROUP, type="supergroup", title="Test group")}
    )
    money_bot.clear()
    await money_bot.feed(update.model_copy(update={"message": anonymous}))
    assert money_bot.messages() == ["Cards now show prices in Euro (EUR) too."]
    assert not money_bot.session.calls("getChatMember")


async def test_an_inline_card_is_in_the_user_s_own_currency(money_bot: Harness) -> None:
    await command(money_bot, "/currency EUR", 91234567)
    [result] = await ask_inline(money_bot, TWO_DIMS)
    assert "💴 <b>¥89.00 – 109.00</b> (≈ €11.39 – 13.95)" in result["caption"]
