"""The bot speaks the user's language: cards, /quota, /help, refusals, numbers, catalogs.

Every conversation goes through the whole bot built like production
(``tests.harness.running_bot``: real Dispatcher with the UserLocale
middleware, real services on the real redis-server); Telegram is the
RecordingSession and the upstream the local FakeCatBuy, whose request log shows
the ``searchlang`` each look-up asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import write_po

from bot.balance.ledger import QuotaStatus
from bot.i18n.formatting import (
    current_locale,
    format_count,
    format_day,
    format_moment,
    format_money,
    format_number,
    format_share,
)
from bot.i18n.user_locale import create_i18n
from bot.reports.usage_view import quota_text
from bot.risk.audit import AuditRecord
from bot.risk.values import RiskType
from bot.risk.view import money, risk_log_text, usage_text
from scripts import catalogs
from tests.fakes.catbuy_server import FakeCatBuy
from tests.fakes.telegram import SentCall, message_update
from tests.harness import running_bot

TWO_DIMS = "https://item.taobao.com/item.htm?id=734912856301"
WHOLESALE = "https://detail.1688.com/offer/812345609871.html"
GROUP = -100555
NBSP = "\xa0"


@dataclass(frozen=True)
class Speech:
    """What a user of one locale must see."""

    lang: str
    card_words: tuple[str, ...]  # in the caption
    open_button: str
    quota_line: str  # /quota after one look-up of USER_DAILY_QUOTA=12345: digit grouping
    help_words: tuple[str, ...]
    over_quota: str
    foreign: tuple[str, ...]  # English words that must not appear


SPEECH = [
    Speech(
        "en",
        ("👇 Choose 颜色分类, 尺码", "sold 1,000", "In stock: 541", "shop 北巷制衣工作室"),
        "Open on Taobao",
        "Look-ups left today: 12,344 of 12,345.",
        ("/quota: your look-ups left today", "Up to 3 items per message.", "turns marketplace"),
        "Your look-ups for today are used up",
        (),
    ),
    Speech(
        "ru",
        (
            "👇 Выберите: 颜色分类, 尺码",
            f"продано 1{NBSP}000",
            "В наличии: 541",
            "магазин 北巷制衣工作室",
        ),
        "Открыть в Taobao",
        f"Осталось запросов на сегодня: 12{NBSP}344 из 12{NBSP}345.",
        ("/quota — сколько запросов осталось сегодня", "До 3 товаров в одном сообщении."),
        "Ваши запросы на сегодня закончились",
        ("Choose", "sold", "In stock", "shop ", "Look-ups", "Paste a link"),
    ),
    Speech(
        "zh",
        ("👇 请选择：颜色分类, 尺码", "已售 1,000", "库存：541", "店铺 北巷制衣工作室"),
        "在Taobao打开",
        "今日剩余查询：12,344 / 12,345。",
        ("/quota：今日剩余查询次数", "每条消息最多 3 件商品。"),
        "您今天的查询次数已用完",
        ("Choose", "sold", "In stock", "shop ", "Look-ups", "Paste a link"),
    ),
    Speech(
        "es",
        ("👇 Elige 颜色分类, 尺码", "vendidos 1.000", "En stock: 541", "tienda 北巷制衣工作室"),
        "Abrir en Taobao",
        "Consultas restantes hoy: 12.344 de 12.345.",
        ("/quota: tus consultas restantes de hoy", "Hasta 3 artículos por mensaje."),
        "Has agotado tus consultas de hoy",
        ("Choose", "sold", "In stock", "shop ", "Look-ups", "Paste a link"),
    ),
]


def buttons(call: SentCall) -> list[dict[str, str]]:
    markup = call.reply_markup or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def caption_of(call: SentCall) -> str:
    return str(call.params.get("caption", call.params.get("text", "")))


@pytest.mark.parametrize("speech", SPEECH, ids=lambda s: s.lang)
async def test_card_quota_and_help_in_the_users_language(
    speech: Speech, redis_url: str, catbuy: FakeCatBuy
) -> None:
    async with running_bot(redis_url, catbuy, user_daily_quota=12345) as bot:
        user = 9100
        await bot.feed(message_update(TWO_DIMS, user_id=user, language_code=speech.lang))
        [card] = bot.cards()
        caption = caption_of(card)
        for words in speech.card_words:
            assert words in caption
        assert speech.open_button in [b["text"] for b in buttons(card)]
        assert "重磅280g纯棉短袖T恤" in caption  # upstream text as the upstream gives it
        [request] = catbuy.requests
        assert request.form["searchlang"] == speech.lang

        bot.clear()
        await bot.feed(message_update("/quota", user_id=user, language_code=speech.lang))
        await bot.feed(message_update("/help", user_id=user, language_code=speech.lang))
        quota, help_text = bot.messages()
        assert speech.quota_line in quota
        for words in speech.help_words:
            assert words in help_text
        for english in speech.foreign:
            assert english not in caption + quota + help_text


@pytest.mark.parametrize("speech", SPEECH, ids=lambda s: s.lang)
async def test_over_quota_message_in_the_users_language(
    speech: Speech, redis_url: str, catbuy: FakeCatBuy
) -> None:
    async with running_bot(redis_url, catbuy, user_daily_quota=1) as bot:
        await bot.feed(message_update(TWO_DIMS, user_id=9200, language_code=speech.lang))
        await bot.feed(message_update(WHOLESALE, user_id=9200, language_code=speech.lang))
        assert len(bot.cards()) == 1
        [refusal] = bot.messages()
        assert speech.over_quota in refusal  # on the free link card
        assert "00:00" in refusal and "UTC" in refusal
        assert catbuy.calls_to("/item") == 1


async def test_searchlang_and_cache_follow_each_users_language_in_a_group(
    redis_url: str, catbuy: FakeCatBuy
) -> None:
    async with running_bot(redis_url, catbuy) as bot:
        await bot.feed(
            message_update(
                TWO_DIMS, user_id=11, chat_id=GROUP, chat_type="supergroup", language_code="ru"
            )
        )
        await bot.feed(
            message_update(
                TWO_DIMS, user_id=12, chat_id=GROUP, chat_type="supergroup", language_code="en-US"
            )
        )
        await bot.feed(
            message_update(
                TWO_DIMS, user_id=13, chat_id=GROUP, chat_type="supergroup", language_code="ru-RU"
            )
        )
        # The Russian and the English title each cost one look-up; the second
        # Russian paste is served from the cache kept for Russian.
        assert [r.form["searchlang"] for r in catbuy.requests] == ["ru", "en"]
        first, second, third = (caption_of(c) for c in bot.cards())
        assert "Выберите" in first and "Выберите" in third
        assert "Choose" in second and "Выберите" not in second


async def test_a_tap_keeps_the_cards_language(redis_url: str, catbuy: FakeCatBuy) -> None:
    async with running_bot(redis_url, catbuy) as bot:
        await bot.feed(
            message_update(
                TWO_DIMS, user_id=21, chat_id=GROUP, chat_type="supergroup", language_code="zh-hans"
            )
        )
        [card] = bot.cards()
        option = next(b for b in buttons(card) if "黑色" in b.get("text", ""))
        bot.clear()
        # An English-speaking member picks a colour on the Chinese card.
        message_id = card.response["result"]["message_id"]
        await bot.feed(
            bot.session.telegram.tap(
                GROUP, message_id, option["callback_data"], user_id=22, language_code="en"
            )
        )
        edits = [c for c in bot.sent() if c.method.startswith("editMessage")]
        assert edits, [c.method for c in bot.sent()]
        media = edits[-1].params.get("media")
        redrawn = media.get("caption", "") if isinstance(media, dict) else caption_of(edits[-1])
        assert "请选择" in redrawn and "Choose" not in redrawn
        assert "🎯" in redrawn  # the choice is shown
        assert catbuy.calls_to("/item") == 1  # taps never call the upstream


async def test_unmapped_language_asks_the_upstream_in_english(
    redis_url: str, catbuy: FakeCatBuy
) -> None:
    async with running_bot(redis_url, catbuy, searchlang_map="en:en,ru:ru,zh:zh") as bot:
        await bot.feed(message_update(TWO_DIMS, user_id=31, language_code="es"))
        [card] = bot.cards()
        assert "Abrir en Taobao" in [b["text"] for b in buttons(card)]  # interface still Spanish
        assert [r.form["searchlang"] for r in catbuy.requests] == ["en"]


# --- plural forms ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "used", "expected"),
    [
        ("ru", 1, "(сегодня 1 запрос)"),
        ("ru", 3, "(сегодня 3 запроса)"),
        ("ru", 5, "(сегодня 5 запросов)"),
        ("ru", 11, "(сегодня 11 запросов)"),
        ("ru", 21, "(сегодня 21 запрос)"),
        ("ru", 1234, f"(сегодня 1{NBSP}234 запроса)"),
        ("en", 1, "(1 look-up today)"),
        ("en", 2, "(2 look-ups today)"),
        ("es", 1, "(1 consulta hoy)"),
        ("es", 7, "(7 consultas hoy)"),
        ("zh", 1, "（今日已查询 1 次）"),
        ("zh", 40, "（今日已查询 40 次）"),
    ],
)
def test_admin_quota_uses_the_languages_plural_forms(lang: str, used: int, expected: str) -> None:
    status = QuotaStatus(
        user_used=used,
        user_quota=50,
        exempt=True,
        budget_used=0,
        daily_budget=10,
        reset_seconds=3600,
    )
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale(lang):
        assert expected in quota_text(status)


@pytest.mark.parametrize(
    ("lang", "title", "verdict", "moment", "price"),
    [
        ("en", "Last 1 risk check", "blacklisted 85/100", "3/7/25, 2:05\u202fPM UTC", "$0.03"),
        (
            "ru",
            "Последние проверки (1)",
            "в чёрном списке 85/100",
            "07.03.2025, 14:05 UTC",
            f"0,03{NBSP}$",
        ),
        ("zh", "最近 1 次风险核查", "黑名单 85/100", "2025/3/7 14:05 UTC", "US$0.03"),
        (
            "es",
            "Últimas comprobaciones de riesgo (1)",
            "en lista negra 85/100",
            "7/3/25, 14:05 UTC",
            f"0,03{NBSP}US$",
        ),
    ],
)
def test_risk_log_and_usage_speak_the_admins_language(
    lang: str, title: str, verdict: str, moment: str, price: str
) -> None:
    record = AuditRecord(
        admin_id=5001,
        at=datetime(2025, 3, 7, 14, 5, tzinfo=UTC),
        kind=RiskType.EMAIL,
        masked="b***@e***.com",
        result="blacklisted",
        score=85,
        cached=False,
    )
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale(lang):
        text = risk_log_text([record])
        usage = usage_text("CN")
        assert money(None) == price
    assert f"<b>{title}</b>" in text
    assert verdict in text and moment in text
    assert price in usage and "<code>/risk email buyer@example.com</code>" in usage


# --- numbers and dates --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "count", "money", "day"),
    [
        ("en", "1,234,567", "$0.004", "Mar 7, 2025"),
        ("ru", f"1{NBSP}234{NBSP}567", f"0,004{NBSP}$", "7 мар. 2025\u202fг."),
        ("zh", "1,234,567", "US$0.004", "2025年3月7日"),
        ("es", "1.234.567", f"0,004{NBSP}US$", "7 mar 2025"),
    ],
)
def test_numbers_and_dates_follow_the_locale(lang: str, count: str, money: str, day: str) -> None:
    assert format_count(1234567, lang) == count
    assert format_money(Decimal("0.004"), "USD", 3, lang) == money
    assert format_day(date(2025, 3, 7), lang) == day


def test_formatting_reads_the_locale_of_the_update() -> None:
    assert current_locale() == "en"  # outside any update
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("ru"):
        assert current_locale() == "ru"
        assert format_count(12345) == f"12{NBSP}345"
        assert format_number(Decimal("1.456"), 2) == "1,46"
        assert format_share(0.5) == f"50{NBSP}%"
    with i18n.context(), i18n.use_locale("zh"):
        moment = datetime(2025, 1, 2, 3, 4, tzinfo=UTC)
        assert format_moment(moment) == "2025/1/2 03:04"
    assert format_count(7, "tlh") == "7"  # unknown locale: English rules


# --- the catalog check ----------------------------------------------------------------------


def test_committed_catalogs_pass_the_check() -> None:
    assert catalogs.check() == []
    assert set(catalogs.locales()) >= {"en", "ru", "zh", "es"}


MESSAGES: dict[catalogs.Msgid, tuple[str, int]] = {
    "Hello, {name}!": ("bot/x.py", 1),
    "<b>Today</b>": ("bot/x.py", 2),
    ("{count} item", "{count} items"): ("bot/x.py", 3),
}
GOOD = {
    "Hello, {name}!": "Привет, {name}!",
    "<b>Today</b>": "<b>Сегодня</b>",
    "{count} item": ("{count} товар", "{count} товара", "{count} товаров"),
}


def temp_catalogs(tmp_path: Path, translations: dict[str, str | tuple[str, ...]]) -> Path:
    """``en`` and ``ru`` catalogs made by ``update``, then ``ru`` translated."""
    for lang in ("en", "ru"):
        (tmp_path / lang / "LC_MESSAGES").mkdir(parents=True)
    catalogs.update(tmp_path, MESSAGES)
    set_ru(tmp_path, translations)
    return tmp_path


def set_ru(root: Path, translations: dict[str, str | tuple[str, ...]]) -> None:
    catalog = catalogs.load("ru", root)
    assert catalog is not None
    for message in catalog:
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in translations:
            message.string = translations[key]
    with catalogs.po_path("ru", root).open("wb") as handle:
        write_po(handle, catalog)


def test_update_makes_catalogs_with_each_languages_plural_forms(tmp_path: Path) -> None:
    root = temp_catalogs(tmp_path, {})
    ru = catalogs.load("ru", root)
    en = catalogs.load("en", root)
    assert ru is not None and en is not None
    assert ru.num_plurals == 3 and en.num_plurals == 2
    assert not ru.fuzzy  # pybabel compile skips a catalog with a fuzzy header
    plural = ru.get(("{count} item", "{count} items"))
    assert plural is not None and plural.string == ("", "", "")
    assert en.get("Hello, {name}!").string == "Hello, {name}!"  # type: ignore[union-attr]
    problems = catalogs.check(root, MESSAGES)
    assert sum("ru: untranslated" in p for p in problems) == 3
    assert not any(p.startswith("en:") for p in problems)


def test_a_complete_catalog_passes_and_update_keeps_it(tmp_path: Path) -> None:
    root = temp_catalogs(tmp_path, GOOD)
    assert catalogs.check(root, MESSAGES) == []
    catalogs.update(root, MESSAGES)  # re-extraction keeps the translations
    assert catalogs.check(root, MESSAGES) == []


@pytest.mark.parametrize(
    ("broken", "problem"),
    [
        ({"Hello, {name}!": ""}, "ru: untranslated: 'Hello, {name}!'"),
        ({"Hello, {name}!": "Привет, {user}!"}, "ru: placeholders differ in 'Hello, {name}!'"),
        ({"Hello, {name}!": "Привет!"}, "ru: placeholders differ in 'Hello, {name}!'"),
        ({"<b>Today</b>": "<b>Сегодня"}, "ru: HTML markup differs in '<b>Today</b>'"),
        ({"{count} item": ("{count} товар", "{count} товара", "")}, "ru: untranslated"),
        # A form left out reads back as an empty one.
        ({"{count} item": ("{count} товар", "{count} товара")}, "ru: untranslated"),
        (
            {"{count} item": ("{count} товар", "{count} товара", "много товаров")},
            "ru: placeholders differ in '{count} item'",
        ),
    ],
)
def test_the_check_catches_broken_translations(
    tmp_path: Path, broken: dict[str, str | tuple[str, ...]], problem: str
) -> None:
    root = temp_catalogs(tmp_path, {**GOOD, **broken})
    problems = catalogs.check(root, MESSAGES)
    assert any(p.startswith(problem) for p in problems), problems


def test_the_check_catches_stale_extraction(tmp_path: Path) -> None:
    root = temp_catalogs(tmp_path, GOOD)
    newer = {**MESSAGES, "A new message": ("bot/y.py", 9)}
    del newer["Hello, {name}!"]
    problems = catalogs.check(root, newer)
    assert "ru: not extracted (bot/y.py:9): 'A new message'" in problems
    assert "ru: obsolete (no longer in the code): 'Hello, {name}!'" in problems
    assert "en: not extracted (bot/y.py:9): 'A new message'" in problems


def test_the_check_catches_a_fuzzy_translation_and_a_missing_catalog(tmp_path: Path) -> None:
    root = temp_catalogs(tmp_path, GOOD)
    catalog = catalogs.load("ru", root)
    assert catalog is not None
    catalog["Hello, {name}!"].flags.add("fuzzy")
    with catalogs.po_path("ru", root).open("wb") as handle:
        write_po(handle, catalog)
    (root / "es" / "LC_MESSAGES").mkdir(parents=True)
    problems = catalogs.check(root, MESSAGES)
    assert "ru: untranslated: 'Hello, {name}!'" in problems
    assert any(p.startswith("es: no catalog") for p in problems)


def test_main_exits_non_zero_on_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ru" / "LC_MESSAGES").mkdir(parents=True)
    assert catalogs.main(["catalogs", "check"], root=tmp_path) == 1
    assert "ru: no catalog" in capsys.readouterr().out
    assert catalogs.main(["catalogs", "update"], root=tmp_path) == 0
    assert catalogs.main(["catalogs", "check"], root=tmp_path) == 1  # now untranslated
    assert "ru: untranslated" in capsys.readouterr().out
    assert catalogs.main(["catalogs", "check"]) == 0  # the committed catalogs
