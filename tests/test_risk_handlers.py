"""/risk and /risklog through a real aiogram Dispatcher.

Telegram is the RecordingSession, the upstream is FakeCatBuy over HTTP, the
store is the real redis-server; everything between is the product's code.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.utils.i18n import I18n
from redis.asyncio import Redis

from bot.catbuy.risk import RiskVerdict
from bot.config import Settings, load_settings
from bot.i18n.language import LanguagePrefs
from bot.i18n.user_locale import create_i18n
from bot.ops.metrics import Metrics
from bot.reports.admin_notices import AdminNotifier
from bot.risk.service import OutcomeKind, RiskOutcome
from bot.risk.values import RiskType
from bot.risk.view import risk_card, score_bar
from bot.storage.store import open_store
from handlers.risk import create_router
from tests.fakes.telegram import RecordingSession, make_bot, message_update, texts
from tests.redis_server import free_port
from tests.test_risk import API_KEY, BLACKLISTED_EMAIL, RiskRig, risk_rig

ADMIN = 5001
OTHER_ADMIN = 5002
BLOCKED_ADMIN = 5000  # sorts first: its failure must not stop the notices after it
STRANGER = 7001
BOT_TOKEN = "42:TEST-TOKEN"


@dataclass
class Chat:
    """A Dispatcher with the risk router, and ways to talk to it."""

    dispatcher: Dispatcher
    bot: Bot
    session: RecordingSession
    settings: Settings
    rig: RiskRig
    i18n: I18n
    notifier: AdminNotifier
    metrics: Metrics

    async def send(self, text: str, *, user_id: int = ADMIN, chat_type: str = "private") -> None:
        chat_id = user_id if chat_type == "private" else -100123
        update = message_update(text, user_id=user_id, chat_id=chat_id, chat_type=chat_type)
        with self.i18n.context(), self.i18n.use_locale("en"):
            await self.dispatcher.feed_update(
                self.bot,
                update,
                settings=self.settings,
                risk=self.rig.service,
                notifier=self.notifier,
                metrics=self.metrics,
            )

    def replies(self, chat_id: int | None = None) -> list[str]:
        calls = [c for c in self.session.sent if c.method == "sendMessage"]
        return texts(c for c in calls if chat_id is None or c.chat_id == chat_id)


@asynccontextmanager
async def risk_chat(redis: Redis, **rig_settings: Any) -> AsyncIterator[Chat]:
    async with risk_rig(redis, **rig_settings) as rig:
        settings = load_settings(
            bot_token=BOT_TOKEN,
            catbuy_api_key=API_KEY,
            admin_ids=f"{ADMIN},{OTHER_ADMIN},{BLOCKED_ADMIN}",
            redis_url=None,
        )
        dispatcher = Dispatcher()
        dispatcher.include_router(create_router())
        session = RecordingSession()
        bot = make_bot(session, BOT_TOKEN)
        i18n = create_i18n()
        notifier = AdminNotifier(bot, settings, LanguagePrefs(redis), i18n)
        yield Chat(dispatcher, bot, session, settings, rig, i18n, notifier, Metrics())


@pytest.fixture
async def chat(redis: Redis) -> AsyncIterator[Chat]:
    async with risk_chat(redis) as chat:
        yield chat


async def test_admin_gets_the_blacklisted_card(chat: Chat) -> None:
    await chat.send(f"/risk email {BLACKLISTED_EMAIL}")
    [card] = chat.replies(ADMIN)
    assert "🚫" in card and "Blacklisted" in card
    assert "▰▰▰▰▰▰▰▰▰▱ 85/100" in card
    assert "Chargeback user" in card
    assert "Chargeback on order #ORD-8842" in card
    assert "orderId: ORD-8842" in card
    assert "$0.03" in card
    assert "b***@e***.com" in card and BLACKLISTED_EMAIL not in card
    assert chat.rig.upstream_calls() == 1


async def test_admin_gets_the_clean_card_then_a_free_repeat(chat: Chat) -> None:
    await chat.send("/risk ip 203.0.113.7")
    await chat.send("/risk ip 203.0.113.7")
    first, second = chat.replies(ADMIN)
    assert "✅" in first and "Clean" in first and "0/100" in first
    assert "From cache, no charge" in second
    assert chat.rig.upstream_calls() == 1


async def test_address_with_spaces_goes_upstream_whole(chat: Chat) -> None:
    await chat.send("/risk address  12 Baker   Street, London")
    [request] = chat.rig.fake.requests
    assert request.form == {"type": "address", "value": "12 Baker Street, London"}
    [card] = chat.replies(ADMIN)
    assert "12 ***" in card and "Baker" not in card


async def test_command_addressed_to_the_bot_by_name(chat: Chat) -> None:
    await chat.send("/risk@catbuy_test_bot username Buyer_One")
    assert chat.rig.fake.requests[0].form == {"type": "username", "value": "buyer_one"}
    assert "b***e" in chat.replies(ADMIN)[0]


async def test_non_admin_is_refused_without_upstream_call(chat: Chat) -> None:
    await chat.send(f"/risk email {BLACKLISTED_EMAIL}", user_id=STRANGER)
    assert chat.replies(STRANGER) == ["Risk checks are for admins only."]
    assert chat.rig.fake.calls == 0


@pytest.mark.parametrize("user_id", [ADMIN, STRANGER])
@pytest.mark.parametrize("chat_type", ["group", "supergroup"])
async def test_group_is_told_to_use_a_private_chat_without_echo(
    chat: Chat, user_id: int, chat_type: str
) -> None:
    await chat.send("/risk phone +86 138 0013 8000", user_id=user_id, chat_type=chat_type)
    [reply] = chat.replies()
    assert "private chat" in reply
    assert "138" not in reply and "8000" not in reply
    assert chat.rig.fake.calls == 0


@pytest.mark.parametrize(
    "text",
    ["/risk", "/risk email not-an-email", "/risk fax 12345", "/risk ip 999.1.1.1", "/risk phone"],
)
async def test_invalid_requests_get_usage_and_no_upstream_call(chat: Chat, text: str) -> None:
    await chat.send(text)
    [reply] = chat.replies(ADMIN)
    assert "/risk email buyer@example.com" in reply
    assert "/risk address 12 Baker Street, London" in reply
    assert "not-an-email" not in reply
    assert chat.rig.fake.calls == 0


async def test_risklog_lists_masked_records_for_admins_only(chat: Chat) -> None:
    await chat.send(f"/risk email {BLACKLISTED_EMAIL}")
    await chat.send("/risk phone +86 138 0013 8000")
    await chat.send("/risklog")
    log_text = chat.replies(ADMIN)[-1]
    assert "+86 *** **** 8000" in log_text and "b***@e***.com" in log_text
    assert "blacklisted 85/100" in log_text and "clean 0/100" in log_text
    assert BLACKLISTED_EMAIL not in log_text and "13800138000" not in log_text
    await chat.send("/risklog", user_id=STRANGER)
    assert chat.replies(STRANGER) == ["Risk checks are for admins only."]
    await chat.send("/risklog", chat_type="group")
    assert "private chat" in chat.replies(-100123)[0]


async def test_balance_breaker_notifies_every_admin_once(chat: Chat) -> None:
    chat.rig.fail_with("402")
    # Telegram refuses to deliver to one admin (flood-limited after one message).
    chat.session.flood_after(1, chat_id=BLOCKED_ADMIN)
    await chat.bot.send_message(BLOCKED_ADMIN, "earlier message")
    await chat.send(f"/risk email {BLACKLISTED_EMAIL}")
    await chat.send("/risk email other@example.com")
    answers = chat.replies(ADMIN)
    assert sum("Paid checks are paused" in text for text in answers) == 2
    assert sum("balance is too low" in text for text in answers) == 1
    assert sum("balance is too low" in text for text in chat.replies(OTHER_ADMIN)) == 1
    blocked = [c for c in chat.session.sent if c.chat_id == BLOCKED_ADMIN]
    assert [c.ok for c in blocked] == [True, False]
    assert chat.rig.upstream_calls() == 1


async def test_a_spent_risk_budget_refuses_and_is_counted(redis: Redis) -> None:
    async with risk_chat(redis, daily_budget=1) as chat:
        await chat.send("/risk email a@example.com")
        await chat.send("/risk email b@example.com")
        refusals = chat.metrics.registry.get_sample_value(
            "catbuy_quota_refusals_total", {"kind": "risk_budget"}
        )
    assert chat.rig.upstream_calls() == 1
    assert "budget" in chat.replies(ADMIN)[-1]
    assert refusals == 1


async def test_upstream_failure_gets_a_short_message(chat: Chat) -> None:
    chat.rig.fail_with("html")
    await chat.send(f"/risk email {BLACKLISTED_EMAIL}")
    [reply] = chat.replies(ADMIN)
    assert reply == "The risk checker could not answer. Try again later."


async def test_no_checked_value_reaches_the_logs(
    chat: Chat, caplog: pytest.LogCaptureFixture
) -> None:
    raw = "12 Secret Lane, Hidden Town"
    with caplog.at_level(logging.DEBUG):
        await chat.send(f"/risk address {raw}")
        await chat.send(f"/risk email {BLACKLISTED_EMAIL}", user_id=STRANGER)
        await chat.send("/risk phone +86 138 0013 8000", chat_type="group")
    text = caplog.text + "".join(repr(record.args) for record in caplog.records)
    for secret in (raw, "Secret Lane", BLACKLISTED_EMAIL, "138 0013", "8613800138000", API_KEY):
        assert secret not in text
    assert "12 ***" in caplog.text


def _card(verdict: RiskVerdict, *, cached: bool = False) -> str:
    outcome = RiskOutcome(OutcomeKind.VERDICT, "a***z", verdict, cached=cached)
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("en"):
        return risk_card(RiskType.USERNAME, outcome)


@pytest.mark.parametrize(
    ("score", "bar"),
    [(0, "▱" * 10 + " 0/100"), (30, "▰▰▰▱▱▱▱▱▱▱ 30/100"), (100, "▰" * 10 + " 100/100")],
)
def test_score_bar(score: int, bar: str) -> None:
    assert score_bar(score) == bar


def test_card_escapes_and_bounds_upstream_text() -> None:
    details = {f"key{n:02d}": f"<b>v{n}</b>" for n in range(15)}
    verdict = RiskVerdict(
        blacklisted=True,
        risk_score=42,
        category="risky_wallet",
        match_type="username",
        first_seen="2024-03-15",
        reason="<script>alert(1)</script> & more",
        details=details,
        cost=Decimal("0.02"),
    )
    card = _card(verdict)
    assert "<script>" not in card and "&lt;script&gt;" in card and "&amp; more" in card
    assert "Risky wallet" in card
    assert "key09: &lt;b&gt;v9&lt;/b&gt;" in card and "key10" not in card
    assert "…and 5 more" in card
    assert "First seen: 2024-03-15" in card and "Match type: username" in card
    assert "$0.02" in card
    assert "<code>a***z</code>" in card


def test_cached_card_says_no_charge() -> None:
    verdict = RiskVerdict(blacklisted=False, risk_score=0, category="none")
    card = _card(verdict, cached=True)
    assert "From cache, no charge" in card and "Cost" not in card
    assert "Details" not in card and "Reason" not in card


async def test_risklog_while_the_store_is_down_gets_a_short_answer() -> None:
    dead = open_store(f"redis://127.0.0.1:{free_port()}/0")
    try:
        async with risk_chat(dead) as chat:
            await chat.send("/risklog")
            assert chat.replies(ADMIN) == [
                "The bot is having trouble right now. Please try again in a minute."
            ]
    finally:
        await dead.aclose()


async def test_risklog_says_in_words_how_a_failed_check_ended(chat: Chat) -> None:
    chat.rig.fail_with("500")
    await chat.send("/risk ip 203.0.113.7")
    await chat.send("/risklog")
    line = chat.replies(ADMIN)[-1].splitlines()[-1]
    assert line.endswith("· no answer from the checker") and "upstream_error" not in line


async def test_an_invalid_value_names_the_type_as_it_is_typed(chat: Chat) -> None:
    await chat.send("/risk ip 999.1.1.1")
    assert chat.replies(ADMIN)[0].startswith("That is not a valid value for <code>ip</code>.")
    assert chat.rig.fake.calls == 0
