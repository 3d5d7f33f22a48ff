"""RiskService against real Redis: verdicts, budget, repeat cache, audit, stats, privacy.

The upstream is the local FakeCatBuy over HTTP through the real CatBuyClient
and UpstreamGate; nothing of the bot's own logic is replaced.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.balance.breaker import Breaker
from bot.balance.daily_usage import DailyCounters
from bot.balance.pacing import Pacer
from bot.balance.upstream_gate import UpstreamGate
from bot.catbuy.client import CatBuyClient
from bot.risk.service import OutcomeKind, RiskService
from bot.risk.storage import _REFUND, _RESERVE
from bot.risk.values import RiskType, mask, normalize
from bot.storage.store import open_store
from tests.fakes.catbuy_server import FakeCatBuy
from tests.redis_proxy import ReplyDroppingProxy
from tests.redis_server import RedisServer

BLACKLISTED_EMAIL = "buyer.one@example.com"
API_KEY = "cbk_risk_test_key_123456"
T = TypeVar("T")


@dataclass
class RiskRig:
    """A RiskService wired like production against FakeCatBuy and real Redis."""

    service: RiskService
    fake: FakeCatBuy
    client: CatBuyClient
    gate: UpstreamGate
    api_key: str = API_KEY

    def upstream_calls(self) -> int:
        return self.fake.calls_to("/blacklist/check")

    def blacklist(self, *values: str) -> None:
        self.fake.blacklist(*values)

    def fail_with(self, mode: str) -> None:
        forced = int(mode) if mode.isdigit() else mode
        self.fake.force(forced, times=None)  # type: ignore[arg-type]


@asynccontextmanager
async def risk_rig(
    redis: Redis,
    *,
    daily_budget: int = 100,
    repeat_seconds: int = 600,
    rps: float = 50,
    timeout_seconds: float = 2.0,
    cooldown_seconds: int = 300,
) -> AsyncIterator[RiskRig]:
    """Everything below the handlers, as the composition root builds it."""
    async with FakeCatBuy(API_KEY, rps=rps) as fake:
        fake.blacklist(BLACKLISTED_EMAIL)
        client = CatBuyClient(fake.base_url, SecretStr(API_KEY), timeout=timeout_seconds)
        pacer = Pacer(redis, rps=rps, max_wait=5.0)
        gate = UpstreamGate(pacer, Breaker(redis, cooldown_seconds=cooldown_seconds))
        service = RiskService(
            client,
            gate,
            redis,
            daily_budget=daily_budget,
            repeat_seconds=repeat_seconds,
            timeout_seconds=timeout_seconds + 1,
        )
        try:
            yield RiskRig(service, fake, client, gate)
        finally:
            await pacer.aclose()
            await client.aclose()


@pytest.fixture
async def rig(redis: Redis) -> AsyncIterator[RiskRig]:
    async with risk_rig(redis) as rig:
        yield rig


async def test_blacklisted_value_gets_the_match_verdict(rig: RiskRig) -> None:
    outcome = await rig.service.check(1, RiskType.EMAIL, BLACKLISTED_EMAIL)
    assert outcome.kind is OutcomeKind.VERDICT
    assert outcome.verdict is not None and outcome.verdict.blacklisted
    assert outcome.verdict.risk_score == 85
    assert outcome.verdict.category == "chargeback_user"
    assert outcome.cost == Decimal("0.03")
    assert not outcome.cached
    assert rig.upstream_calls() == 1


async def test_clean_value_gets_the_clean_verdict(rig: RiskRig) -> None:
    outcome = await rig.service.check(1, RiskType.IP, "203.0.113.7")
    assert outcome.verdict is not None and not outcome.verdict.blacklisted
    assert outcome.verdict.risk_score == 0
    assert outcome.masked == "203.0.113.*"


async def test_repeat_within_window_is_cached_and_free(rig: RiskRig) -> None:
    first = await rig.service.check(1, RiskType.EMAIL, BLACKLISTED_EMAIL)
    second = await rig.service.check(2, RiskType.EMAIL, BLACKLISTED_EMAIL)
    assert not first.cached and second.cached
    assert second.verdict == first.verdict
    assert rig.upstream_calls() == 1
    stats = await rig.service.today()
    assert (stats.checks, stats.cached, stats.budget_used) == (1, 1, 1)
    assert stats.spend == Decimal("0.03")


async def test_a_free_check_adds_nothing_to_the_spend(rig: RiskRig) -> None:
    rig.fake.risk_clean["cost"] = 0  # a check a Risk Shield plan includes
    outcome = await rig.service.check(1, RiskType.EMAIL, "someone@example.com")
    assert outcome.cost == 0
    stats = await rig.service.today()
    assert (stats.checks, stats.spend) == (1, Decimal(0))


async def test_same_value_of_another_type_is_not_a_cache_hit(rig: RiskRig) -> None:
    await rig.service.check(1, RiskType.USERNAME, "buyer_one")
    outcome = await rig.service.check(1, RiskType.DEVICE, "buyer_one")
    assert not outcome.cached
    assert rig.upstream_calls() == 2


async def test_cache_keys_hold_no_raw_value(rig: RiskRig, redis: Redis) -> None:
    await rig.service.check(1, RiskType.EMAIL, BLACKLISTED_EMAIL)
    keys = [key.decode() for key in await redis.keys("*")]
    assert any(key.startswith("risk:cache:") for key in keys)
    assert not any("buyer" in key or "example" in key for key in keys)
    cache_key = next(key for key in keys if key.startswith("risk:cache:"))
    assert BLACKLISTED_EMAIL.encode() not in (await redis.get(cache_key) or b"")


async def test_repeat_window_zero_disables_the_cache(redis: Redis) -> None:
    async with risk_rig(redis, repeat_seconds=0) as rig:
        await rig.service.check(1, RiskType.EMAIL, BLACKLISTED_EMAIL)
        outcome = await rig.service.check(1, RiskType.EMAIL, BLACKLISTED_EMAIL)
        assert not outcome.cached
        assert rig.upstream_calls() == 2


async def test_budget_holds_under_concurrency(redis: Redis) -> None:
    async with risk_rig(redis, daily_budget=5, rps=1000) as rig:
        outcomes = await asyncio.gather(
            *(rig.service.check(1, RiskType.USERNAME, f"user{n:02d}") for n in range(20))
        )
        kinds = [outcome.kind for outcome in outcomes]
        assert kinds.count(OutcomeKind.VERDICT) == 5
        assert kinds.count(OutcomeKind.BUDGET_EXHAUSTED) == 15
        assert rig.upstream_calls() == 5
        assert (await rig.service.today()).budget_left == 0


async def test_cached_answers_do_not_need_budget(redis: Redis) -> None:
    async with risk_rig(redis, daily_budget=1) as rig:
        await rig.service.check(1, RiskType.EMAIL, BLACKLISTED_EMAIL)
        again = await rig.service.check(1, RiskType.EMAIL, BLACKLISTED_EMAIL)
        other = await rig.service.check(1, RiskType.EMAIL, "other@example.com")
        assert again.cached
        assert other.kind is OutcomeKind.BUDGET_EXHAUSTED
        assert rig.upstream_calls() == 1


@pytest.mark.parametrize(
    ("mode", "expected", "billed"),
    [
        ("500", OutcomeKind.UPSTREAM_ERROR, True),
        ("html", OutcomeKind.UPSTREAM_ERROR, True),
        ("invalid_json", OutcomeKind.UPSTREAM_ERROR, True),
        ("hang", OutcomeKind.TIMEOUT, True),
        ("429", OutcomeKind.BUSY, False),
        ("401", OutcomeKind.BREAKER_OPEN, False),
        ("402", OutcomeKind.BREAKER_OPEN, False),
    ],
)
async def test_upstream_errors_map_to_outcomes(
    redis: Redis, mode: str, expected: OutcomeKind, billed: bool
) -> None:
    """A failure the upstream may have billed keeps its unit; a refusal it does not bill
    (401, 402, 429) gives it back."""
    async with risk_rig(redis, timeout_seconds=0.5) as rig:
        rig.fail_with(mode)
        outcome = await rig.service.check(1, RiskType.EMAIL, BLACKLISTED_EMAIL)
        assert outcome.kind is expected
        assert outcome.verdict is None
        stats = await rig.service.today()
        assert (stats.budget_used, stats.checks) == (int(billed), int(billed))
        assert stats.spend == (Decimal("0.03") if billed else 0)
        assert await rig.service.audit_log() != []


async def test_breaker_outcome_asks_to_notify_admins_once(redis: Redis) -> None:
    async with risk_rig(redis) as rig:
        rig.fail_with("402")
        first = await rig.service.check(1, RiskType.EMAIL, BLACKLISTED_EMAIL)
        second = await rig.service.check(1, RiskType.EMAIL, "other@example.com")
        assert first.kind is second.kind is OutcomeKind.BREAKER_OPEN
        assert first.breaker_reason == "balance"
        assert [first.notify_admins, second.notify_admins].count(True) == 1
        assert rig.upstream_calls() == 1, "an open breaker sends nothing upstream"


async def test_store_down_fails_closed(redis_server: RedisServer, redis: Redis) -> None:
    async with risk_rig(redis) as rig:
        redis_server.stop()
        try:
            outcome = await rig.service.check(1, RiskType.EMAIL, BLACKLISTED_EMAIL)
        finally:
            redis_server.start()
        assert outcome.kind is OutcomeKind.STORE_DOWN
        assert rig.upstream_calls() == 0


async def test_audit_records_are_masked_and_newest_first(rig: RiskRig, redis: Redis) -> None:
    await rig.service.check(7, RiskType.EMAIL, BLACKLISTED_EMAIL)
    await rig.service.check(8, RiskType.PHONE, "+8613800138000")
    await rig.service.check(8, RiskType.PHONE, "+8613800138000")
    records = await rig.service.audit_log()
    assert [(r.admin_id, r.kind, r.masked, r.cached) for r in records] == [
        (8, RiskType.PHONE, "+86 *** **** 8000", True),
        (8, RiskType.PHONE, "+86 *** **** 8000", False),
        (7, RiskType.EMAIL, "b***@e***.com", False),
    ]
    assert records[-1].result == "blacklisted" and records[-1].score == 85
    assert records[0].result == "clean" and records[0].score == 0
    raw = repr(await redis.xrange("risk:audit"))
    assert "8613800138000" not in raw and BLACKLISTED_EMAIL not in raw


async def test_audit_log_limit(rig: RiskRig) -> None:
    for n in range(25):
        await rig.service.check(1, RiskType.USERNAME, f"user{n:02d}")
    records = await rig.service.audit_log()
    assert len(records) == 20
    assert records[0].masked == "u***4"


async def test_audit_stream_is_capped(rig: RiskRig, redis: Redis) -> None:
    service = RiskService(rig.client, rig.gate, redis, daily_budget=0, audit_maxlen=10)
    for n in range(300):
        await service.check(1, RiskType.USERNAME, f"user{n:03d}")
    # Trimming is approximate: whole stream nodes (100 entries) at a time.
    assert await redis.xlen("risk:audit") <= 10 + 100


RAW_VALUES = [
    (RiskType.EMAIL, "Secret.Person@Example.com"),
    (RiskType.USERNAME, "secretperson77"),
    (RiskType.PHONE, "+86 138 0013 8000"),
    (RiskType.ADDRESS, "12 Secret Lane, Hidden Town"),
    (RiskType.IP, "198.51.100.23"),
    (RiskType.DEVICE, "fp_9f8e7d6c5b4a"),
]


@pytest.mark.parametrize(("kind", "raw"), RAW_VALUES)
async def test_logs_never_hold_the_checked_value(
    rig: RiskRig, caplog: pytest.LogCaptureFixture, kind: RiskType, raw: str
) -> None:
    value = normalize(kind, raw)
    assert value is not None
    rig.blacklist(value)
    with caplog.at_level(logging.DEBUG):
        await rig.service.check(1, kind, value)
        await rig.service.check(1, kind, value)
        rig.fail_with("500")
        await rig.service.check(
            1, kind, value + "0" if kind is not RiskType.IP else "198.51.100.24"
        )
    text = caplog.text + "".join(repr(r.args) for r in caplog.records)
    assert mask(kind, value) in caplog.text, "the check is logged, masked"
    for form in {raw, value, raw.strip(), value.lower()}:
        assert form not in text
    assert rig.api_key not in text


async def test_in_process_store_serves_the_same_checks(store: Redis) -> None:
    async with risk_rig(store, daily_budget=2) as rig:
        first = await rig.service.check(1, RiskType.EMAIL, BLACKLISTED_EMAIL)
        again = await rig.service.check(1, RiskType.EMAIL, BLACKLISTED_EMAIL)
        other = await rig.service.check(1, RiskType.IP, "203.0.113.7")
        over = await rig.service.check(1, RiskType.IP, "203.0.113.8")
        assert first.verdict is not None and first.verdict.blacklisted
        assert again.cached and other.kind is OutcomeKind.VERDICT
        assert over.kind is OutcomeKind.BUDGET_EXHAUSTED
        assert rig.upstream_calls() == 2
        records = await rig.service.audit_log()
        assert [r.result for r in records] == [
            "budget_exhausted",
            "clean",
            "blacklisted",
            "blacklisted",
        ]
        stats = await rig.service.today()
        assert (stats.checks, stats.cached, stats.spend) == (2, 1, Decimal("0.06"))


async def test_paid_checks_reach_the_bot_wide_stats(rig: RiskRig, redis: Redis) -> None:
    counters = DailyCounters(redis)
    service = RiskService(rig.client, rig.gate, redis, daily_budget=10, counters=counters)
    await service.check(1, RiskType.EMAIL, BLACKLISTED_EMAIL)
    await service.check(1, RiskType.EMAIL, BLACKLISTED_EMAIL)
    snapshot = await counters.snapshot()
    assert snapshot.risk_checks == 1


async def test_identical_checks_at_once_pay_once(redis: Redis) -> None:
    async with risk_rig(redis) as rig:
        rig.fake.latency = 0.2
        outcomes = await asyncio.gather(
            *(rig.service.check(admin, RiskType.EMAIL, BLACKLISTED_EMAIL) for admin in (1, 1, 2))
        )
        assert rig.upstream_calls() == 1
        assert sorted(o.cached for o in outcomes) == [False, True, True]
        assert all(o.verdict == outcomes[0].verdict for o in outcomes)
        stats = await rig.service.today()
        assert (stats.checks, stats.cached, stats.budget_used) == (1, 2, 1)


async def test_identical_checks_on_two_replicas_pay_once(redis: Redis) -> None:
    async with risk_rig(redis) as first, risk_rig(redis) as second:
        for rig in (first, second):
            rig.fake.latency = 0.5
        outcomes = await asyncio.gather(
            first.service.check(1, RiskType.EMAIL, BLACKLISTED_EMAIL),
            second.service.check(2, RiskType.EMAIL, BLACKLISTED_EMAIL),
        )
        assert first.upstream_calls() + second.upstream_calls() == 1
        assert sorted(o.cached for o in outcomes) == [False, True]
        assert outcomes[0].verdict == outcomes[1].verdict
        assert (await first.service.today()).budget_used == 1


async def test_a_failed_check_on_another_replica_lets_this_one_try(redis: Redis) -> None:
    async with risk_rig(redis) as first, risk_rig(redis) as second:
        first.fake.latency = 0.3
        first.fail_with("500")
        failed, answered = await asyncio.gather(
            first.service.check(1, RiskType.EMAIL, BLACKLISTED_EMAIL),
            _after(0.1, second.service.check(2, RiskType.EMAIL, BLACKLISTED_EMAIL)),
        )
        assert failed.kind is OutcomeKind.UPSTREAM_ERROR
        assert answered.kind is OutcomeKind.VERDICT and not answered.cached
        assert second.upstream_calls() == 1


async def _after(seconds: float, check: Awaitable[T]) -> T:
    await asyncio.sleep(seconds)
    return await check


@pytest.mark.parametrize("mode", ["500", "html", "invalid_json", "hang", "drop"])
async def test_failed_checks_that_may_be_billed_spend_the_budget(redis: Redis, mode: str) -> None:
    """An admin retrying a failing checker runs no more billed calls than the budget."""
    counters = DailyCounters(redis)
    async with risk_rig(redis, daily_budget=3, timeout_seconds=0.5) as rig:
        rig.fail_with(mode)
        service = RiskService(
            rig.client, rig.gate, redis, daily_budget=3, timeout_seconds=1.5, counters=counters
        )
        outcomes = [await service.check(1, RiskType.EMAIL, BLACKLISTED_EMAIL) for _ in range(6)]
        stats = await service.today()
        bot_wide = await counters.snapshot()
        calls = rig.upstream_calls()
    assert calls == 3
    assert [o.kind for o in outcomes][3:] == [OutcomeKind.BUDGET_EXHAUSTED] * 3
    # /stats shows the calls and their spend, failed or not.
    assert (stats.checks, stats.budget_used, stats.budget_left) == (3, 3, 0)
    assert stats.spend == Decimal("0.09")
    assert bot_wide.risk_checks == 3


async def test_a_reservation_sent_twice_after_a_dropped_reply_counts_once(
    redis_server: RedisServer, redis: Redis
) -> None:
    """Redis ran the reservation, the connection dropped before its reply came:
    redis-py sends it again, and the budget still shows one check."""
    async with ReplyDroppingProxy(redis_server.port) as proxy:
        store = open_store(proxy.url)
        async with risk_rig(store, daily_budget=5) as rig:
            await store.script_load(_RESERVE)
            proxy.drop_reply_to(_sha(_RESERVE))
            outcome = await rig.service.check(1, RiskType.EMAIL, BLACKLISTED_EMAIL)
            stats = await rig.service.today()
        await store.aclose()
    assert proxy.dropped == 1
    assert outcome.kind is OutcomeKind.VERDICT
    assert (stats.budget_used, stats.checks) == (1, 1)


async def test_a_give_back_sent_twice_after_a_dropped_reply_gives_one_unit(
    redis_server: RedisServer, redis: Redis
) -> None:
    async with ReplyDroppingProxy(redis_server.port) as proxy:
        store = open_store(proxy.url)
        async with risk_rig(store, daily_budget=5) as rig:
            await rig.service.check(1, RiskType.EMAIL, BLACKLISTED_EMAIL)  # one unit spent
            await store.script_load(_REFUND)
            rig.fail_with("429")  # refused unbilled: the unit comes back
            proxy.drop_reply_to(_sha(_REFUND))
            outcome = await rig.service.check(1, RiskType.EMAIL, "other@example.com")
            stats = await rig.service.today()
        await store.aclose()
    assert proxy.dropped == 1
    assert outcome.kind is OutcomeKind.BUSY
    assert stats.budget_used == 1


def _sha(script: str) -> bytes:
    return hashlib.sha1(script.encode()).hexdigest().encode()
