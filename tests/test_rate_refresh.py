"""Newer reference rates: fetched once for all replicas, shared through Redis, never fatal.

The ECB is faked at the HTTP boundary (``httpx.MockTransport``); no network.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest
from redis.asyncio import Redis

from bot.money.rates import RateBook, ReferenceRates
from bot.money.refresh import STORE_KEY, RateRefresher, newest_possible
from tests.test_money import ECB_XML

URL = "https://rates.test/eurofxref-daily.xml"
OLD = ReferenceRates(date(2026, 10, 30), {"USD": Decimal("0.15")})
FRIDAY_EVENING = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)


class FakeEcb:
    """The ECB's daily file, counting requests; ``status`` and ``body`` are knobs."""

    def __init__(self) -> None:
        self.requests = 0
        self.status = 200
        self.body = ECB_XML

    def transport(self) -> httpx.MockTransport:
        def answer(request: httpx.Request) -> httpx.Response:
            self.requests += 1
            return httpx.Response(self.status, content=self.body)

        return httpx.MockTransport(answer)


def replica(store: Redis, ecb: FakeEcb, url: str | None = URL) -> tuple[RateBook, RateRefresher]:
    book = RateBook(OLD, {"RUB": Decimal("12.9")})
    refresher = RateRefresher(
        book, store, url=url, every=0.01, transport=ecb.transport(), clock=lambda: FRIDAY_EVENING
    )
    return book, refresher


async def test_one_replica_fetches_and_the_others_take_the_rates_from_redis(
    redis: Redis,
) -> None:
    ecb = FakeEcb()
    (first, refresh_first), (second, refresh_second) = replica(redis, ecb), replica(redis, ecb)
    await refresh_first.refresh()
    await refresh_second.refresh()
    assert ecb.requests == 1  # the lock: one fetch for the deployment
    for book in (first, second):
        assert book.reference.day == date(2026, 12, 3)
        usd, rub = book.rate("USD"), book.rate("RUB")
        assert usd is not None and usd.per_cny == Decimal("0.1375")
        assert rub is not None and rub.per_cny == Decimal("12.9")  # the operator's stays
    assert await redis.get(STORE_KEY) is not None


async def test_a_failed_fetch_keeps_the_last_good_rates_and_logs_one_line(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    ecb = FakeEcb()
    ecb.status = 503
    book, refresher = replica(redis, ecb)
    with caplog.at_level(logging.INFO, logger="bot.money.refresh"):
        await refresher.refresh()
    assert book.reference is OLD
    [line] = [r.getMessage() for r in caplog.records]
    assert "not refreshed (HTTPStatusError)" in line and "2026-10-30" in line


async def test_a_broken_document_changes_nothing(redis: Redis) -> None:
    ecb = FakeEcb()
    ecb.body = b"<html>maintenance</html>"
    book, refresher = replica(redis, ecb)
    await refresher.refresh()
    assert book.reference is OLD and await redis.get(STORE_KEY) is None


async def test_malformed_rates_in_redis_are_ignored(redis: Redis) -> None:
    await redis.set(STORE_KEY, b'{"day": "2026-12-04", "per_cny": {"USD": "-1"}}')
    book, refresher = replica(redis, FakeEcb(), url=None)
    await refresher.refresh()
    assert book.reference is OLD


async def test_no_fetch_while_the_rates_are_the_newest_there_can_be(redis: Redis) -> None:
    ecb = FakeEcb()
    book = RateBook(ReferenceRates(date(2026, 12, 4), {"USD": Decimal("0.14")}))
    refresher = RateRefresher(
        book, redis, url=URL, every=1, transport=ecb.transport(), clock=lambda: FRIDAY_EVENING
    )
    await refresher.refresh()
    assert ecb.requests == 0


def test_the_newest_possible_day_skips_weekends_and_waits_for_the_afternoon() -> None:
    assert newest_possible(datetime(2026, 12, 4, 17, tzinfo=UTC)) == date(2026, 12, 4)
    assert newest_possible(datetime(2026, 12, 4, 9, tzinfo=UTC)) == date(2026, 12, 3)
    assert newest_possible(datetime(2026, 12, 6, 12, tzinfo=UTC)) == date(2026, 12, 4)  # Sunday
    assert newest_possible(datetime(2026, 12, 7, 9, tzinfo=UTC)) == date(2026, 12, 4)  # Monday


async def test_running_refreshes_in_the_background_and_stops_cleanly(redis: Redis) -> None:
    ecb = FakeEcb()
    book, refresher = replica(redis, ecb)
    async with refresher.running():
        for _ in range(200):
            if book.reference.day != OLD.day:
                break
            await asyncio.sleep(0.01)
    assert book.reference.day == date(2026, 12, 3)
