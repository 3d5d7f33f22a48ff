"""Durations said as they are: a pause under a minute is seconds, never '1 min'."""

from __future__ import annotations

import pytest
from aiogram.utils.i18n import I18n

from bot.balance.breaker import BreakerReason
from bot.cards.free_card import free_reason
from bot.i18n.formatting import duration, reset_in
from bot.i18n.user_locale import create_i18n
from bot.lookup.results import Failure, Refused
from bot.reports.admin_notices import breaker_notice
from tests.fakes.catbuy_server import FakeCatBuy
from tests.fakes.telegram import message_update
from tests.harness import ADMIN_ID, running_bot


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return create_i18n()


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "0 s"),
        (1, "1 s"),
        (45, "45 s"),
        (59, "59 s"),
        (60, "1 min"),
        (90, "1 min 30 s"),
        (300, "5 min"),
        (3599, "59 min 59 s"),
        (3600, "1 h 0 min"),
        (18_720, "5 h 12 min"),
    ],
)
def test_a_duration_is_said_as_it_is(i18n: I18n, seconds: int, said: str) -> None:
    with i18n.context(), i18n.use_locale("en"):
        assert duration(seconds) == said


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(None, "1 s"), (30, "30 s"), (61, "1 min"), (3599, "59 min"), (18_759, "5 h 12 min")],
)
def test_the_time_to_the_reset_in_whole_minutes_past_one(
    i18n: I18n, seconds: int | None, said: str
) -> None:
    with i18n.context(), i18n.use_locale("en"):
        assert reset_in(seconds) == said


@pytest.mark.parametrize(
    ("locale", "said"), [("en", "45 s"), ("ru", "45 с"), ("zh", "45 秒"), ("es", "45 s")]
)
def test_a_short_breaker_pause_is_said_in_seconds(i18n: I18n, locale: str, said: str) -> None:
    with i18n.context(), i18n.use_locale(locale):
        for reason in (BreakerReason.AUTH, BreakerReason.BALANCE):
            notice = breaker_notice(reason, 45)
            assert said in notice and "1 min" not in notice and "1 мин" not in notice


async def test_the_admin_is_told_the_pause_in_seconds(redis_url: str) -> None:
    async with FakeCatBuy(rps=50) as catbuy:
        catbuy.force(402, times=None)
        async with running_bot(redis_url, catbuy, breaker_cooldown_seconds=45) as bot:
            await bot.feed(message_update("https://item.taobao.com/item.htm?id=734912856301"))
            notices = [
                str(c.params["text"])
                for c in bot.sent("sendMessage")
                if c.chat_id == ADMIN_ID and "402" in str(c.params.get("text"))
            ]
    assert len(notices) == 1
    assert "paused for 45 s." in notices[0]


@pytest.mark.parametrize(("cooldown", "said"), [(45, "45 s"), (90, "1 min 30 s"), (300, "5 min")])
def test_the_free_card_says_the_breaker_pause_as_it_is(
    i18n: I18n, cooldown: int, said: str
) -> None:
    refused = Refused(Failure.BREAKER_OPEN, reason=BreakerReason.BALANCE)
    with i18n.context(), i18n.use_locale("en"):
        assert free_reason(refused, cooldown).endswith(f"paste the link again in {said}.")
