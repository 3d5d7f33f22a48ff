"""/stats as a chart and /stats csv as a file, through the Dispatcher: what an admin
gets, checked by decoding the PNG and parsing the CSV; and who is refused."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

from PIL import Image

from bot.balance.ledger import QuotaStatus
from bot.balance.usage_figures import Counter, DailyStats
from bot.balance.usage_history import DayFigures, GroupUsage, History
from bot.i18n.user_locale import create_i18n
from bot.reports.dashboard_view import chart_labels, stats_caption
from bot.reports.stats_chart import fonts_for
from bot.risk.service import RiskStats
from tests.bot_process import bot_process
from tests.fakes.bot_api_server import FakeBotApi
from tests.fakes.catbuy_server import FakeCatBuy
from tests.fakes.telegram import SentCall, message_update
from tests.harness import ADMIN_ID, Harness, running_bot
from tests.redis_server import running_redis
from tests.test_e2e import KEY as E2E_KEY
from tests.test_e2e import TOKEN as E2E_TOKEN
from tests.test_e2e import e2e_env

LINK = "https://item.taobao.com/item.htm?id=734912856301"
OTHER = "https://detail.tmall.com/item.htm?id=712455609913"
GROUP = -100558


async def make_traffic(bot: Harness) -> None:
    """2 paid look-ups (one in a group), 1 cache hit, 1 refusal over the user's quota."""
    await bot.feed(message_update(LINK, user_id=5))  # paid
    await bot.feed(message_update(OTHER, user_id=5))  # over user 5's quota of 1
    await bot.feed(message_update(OTHER, user_id=7, chat_id=GROUP, chat_type="group"))  # paid
    await bot.feed(message_update(LINK, user_id=6))  # cached
    bot.clear()


def decoded_chart(call: SentCall) -> Image.Image:
    assert call.ok and call.method == "sendPhoto"
    data = call.upload(call.params["photo"])
    assert data is not None and data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG" and image.size == (1000, 500)
    colors = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colors is not None and len(colors) > 50  # axes, text, bars: not a blank canvas
    return image


def has_bar(image: Image.Image, rgb: tuple[int, int, int]) -> bool:
    """Whether the plot (above the legend at the bottom) shows this colour."""
    plot = image.convert("RGB").crop((0, 0, image.width, int(image.height * 0.85)))
    colors = plot.getcolors(maxcolors=1_000_000) or []
    return any(color == rgb and count > 20 for count, color in colors)


async def test_stats_is_a_chart_with_today_and_the_top_groups(
    redis_url: str, catbuy: FakeCatBuy
) -> None:
    async with running_bot(redis_url, catbuy, user_daily_quota=1) as bot:
        await make_traffic(bot)
        await bot.feed(message_update("/stats", user_id=ADMIN_ID))
        [call] = bot.sent()
        image = decoded_chart(call)
        assert has_bar(image, (0x2F, 0x6D, 0xB5))  # today's paid look-ups bar
        caption = call.params["caption"]
        assert "Paid look-ups: 2" in caption
        assert "Cache hits: 1 · coalesced: 0 · free share: 33%" in caption
        assert "Quota refusals: 1" in caption
        assert caption.endswith("<b>Top groups by spend today</b>\n1. Test group: 1 paid · $0.004")


async def test_stats_draws_an_empty_month_in_the_admin_s_language(bot: Harness) -> None:
    for lang in ("ru", "zh", "es"):
        await bot.feed(message_update("/stats", user_id=ADMIN_ID, language_code=lang))
    calls = bot.sent()
    assert [c.method for c in calls] == ["sendPhoto"] * 3
    for call in calls:
        image = decoded_chart(call)
        assert not has_bar(image, (0x2F, 0x6D, 0xB5))  # no bar at all
    assert "Платных запросов: 0" in calls[0].params["caption"]
    assert "Top groups" not in calls[0].params["caption"]


async def test_stats_csv_holds_the_counts_one_row_a_day(redis_url: str, catbuy: FakeCatBuy) -> None:
    async with running_bot(redis_url, catbuy, user_daily_quota=1) as bot:
        await make_traffic(bot)
        await bot.feed(message_update("/stats csv", user_id=ADMIN_ID))
        [call] = bot.sent()
    assert call.ok and call.method == "sendDocument"
    today = datetime.now(UTC).date().isoformat()
    document = call.response["result"]["document"]
    assert document["file_name"] == f"catbuy-stats-{today}.csv"
    data = call.upload(call.params["document"])
    assert data is not None
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert len(rows) == 90
    assert list(rows[0]) == [
        "date",
        "paid_lookups",
        "cache_hits",
        "coalesced",
        "not_found",
        "refused_user",
        "refused_chat",
        "refused_budget",
        "refused_breaker",
        "refused_flood",
        "busy",
        "timeouts",
        "upstream_errors",
        "risk_checks",
        "spend_usd",
    ]
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)
    last = rows[-1]
    assert last["date"] == today
    assert {k: v for k, v in last.items() if v != "0"} == {
        "date": today,
        "paid_lookups": "2",
        "cache_hits": "1",
        "refused_user": "1",
        "spend_usd": "0.008",
    }
    assert all(r["paid_lookups"] == "0" for r in rows[:-1])


async def test_stats_and_its_csv_are_for_admins_in_private_only(bot: Harness) -> None:
    for text in ("/stats", "/stats csv"):
        await bot.feed(message_update(text, user_id=5))
        for user_id in (ADMIN_ID, 5):
            await bot.feed(message_update(text, user_id=user_id, chat_id=GROUP, chat_type="group"))
    assert (
        bot.messages()
        == [
            "This command is for the bot's admins.",
            "/stats works only in a private chat with me.",
            "/stats works only in a private chat with me.",
        ]
        * 2
    )
    assert bot.sent("sendPhoto") == bot.sent("sendDocument") == []


async def test_stats_with_an_unknown_word_says_how_to_ask(bot: Harness) -> None:
    await bot.feed(message_update("/stats pdf", user_id=ADMIN_ID))
    assert bot.messages() == ["Use /stats for the chart, or /stats csv for the daily file."]


def test_chart_labels_need_a_font_that_has_their_glyphs() -> None:
    assert fonts_for("Платные запросы · Gasto") == ("DejaVu Sans",)  # matplotlib ships it
    assert fonts_for("\U000f0000") is None  # a private-use glyph no font draws
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("zh"):
        labels = chart_labels(30)
    # Chinese where a CJK font is installed (the Docker image has one), else English.
    expected = "付费查询" if fonts_for("付费查询") else "Paid look-ups"
    assert labels.paid == expected
    assert fonts_for(labels.text()) is not None


async def test_a_real_bot_process_uploads_the_chart_and_the_csv(redis_url: str) -> None:
    """``python -m bot`` over HTTP: the uploads go as multipart, as to Telegram."""
    async with (
        FakeBotApi(E2E_TOKEN) as telegram,
        FakeCatBuy(E2E_KEY) as upstream,
        bot_process(e2e_env(telegram, upstream, redis_url)),
    ):
        telegram.push_update(message_update(LINK, user_id=77))
        await telegram.wait_for("sendPhoto", timeout=30)
        telegram.push_update(message_update(LINK, user_id=78))  # from the cache
        await telegram.wait_for("sendPhoto", timeout=30)
        telegram.push_update(message_update("/stats", user_id=900))
        chart = await telegram.wait_for("sendPhoto", timeout=30)
        telegram.push_update(message_update("/stats csv", user_id=900))
        document = await telegram.wait_for("sendDocument", timeout=30)
    decoded_chart(chart)
    assert "Paid look-ups: 1" in chart.params["caption"]
    data = document.upload(document.params["document"])
    assert data is not None
    last = list(csv.DictReader(io.StringIO(data.decode())))[-1]
    assert (last["paid_lookups"], last["cache_hits"], last["spend_usd"]) == ("1", "1", "0.004")


def test_the_caption_fits_telegram_s_limit_with_long_group_titles() -> None:
    today = date(2026, 12, 4)
    groups = [GroupUsage(-i, "Группа покупателей & <друзей> " * 3, 10**6 + i) for i in range(5)]
    history = History([DayFigures(today, DailyStats({Counter.PAID_LOOKUPS: 10**7}))], groups)
    quota = QuotaStatus(
        user_used=0,
        user_quota=50,
        chat_used=None,
        chat_quota=300,
        budget_used=10**7,
        daily_budget=10**7,
        reset_seconds=3600,
        exempt=True,
    )
    risk = RiskStats(checks=99, cached=9, spend=Decimal("2.97"), budget_used=99, budget=100)
    i18n = create_i18n()
    for lang in ("en", "ru", "zh", "es"):
        with i18n.context(), i18n.use_locale(lang):
            caption = stats_caption(history, quota, risk)
        visible = html.unescape(re.sub(r"<[^>]+>", "", caption))
        assert len(visible) <= 1024
        assert "&lt;друзей&gt;" in caption  # escaped: Telegram parses the caption as HTML


async def test_stats_while_redis_is_down_get_a_short_answer(catbuy: FakeCatBuy) -> None:
    with running_redis() as server:
        async with running_bot(server.url, catbuy) as bot:
            server.stop()
            await bot.feed(message_update("/stats", user_id=ADMIN_ID))
            await bot.feed(message_update("/stats csv", user_id=ADMIN_ID))
            server.start()
            messages = bot.messages()
    assert messages == ["The bot is having trouble right now. Please try again in a minute."] * 2
